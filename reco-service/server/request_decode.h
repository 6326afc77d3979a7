/* The hand-written decoder of a mixtape.reco.RecommendRequest payload (proto/reco.proto): it
 * fills struct reco_saved records straight from the wire, every string copied once into one
 * allocation, and accepts and refuses exactly the bytes protobuf-c 1.4's generic unpacker does. */
#ifndef MIXTAPE_REQUEST_DECODE_H
#define MIXTAPE_REQUEST_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "recommend.h"

/* The field numbers of proto/reco.proto the decoder reads; request_fields_test.c checks each
 * against protobuf-c's generated descriptors, so a change to reco.proto cannot leave the
 * decoder behind unnoticed. */
enum request_field {
    REQUEST_SAVED = 1,
    REQUEST_N = 2,
    REQUEST_VARIETY = 3,
    REQUEST_MAX_PER_ARTIST = 4,
    REQUEST_RANKING = 5,
    REQUEST_DISCOVER = 6,
    REQUEST_TARGET = 7,
    REQUEST_YEARS = 8,
    REQUEST_EXPLICIT = 9,
};
enum saved_track_field {
    TRACK_ID = 1,
    TRACK_ISRC = 2,
    TRACK_NAME = 3,
    TRACK_ARTISTS = 4,
    TRACK_DURATION_MS = 5,
    TRACK_YEAR = 6,
    TRACK_EXPLICIT = 7,
    TRACK_FEATURES = 8,
};
enum feature_field {
    FEATURE_NAME = 1,
    FEATURE_VALUE = 2,
};
enum target_field {
    TARGET_ENERGY = 1,
    TARGET_VALENCE = 2,
    TARGET_DANCEABILITY = 3,
    TARGET_TEMPO = 4,
};
enum years_field {
    YEARS_FROM = 1,
    YEARS_TO = 2,
};

/* A decoded RecommendRequest, before any limit but max_saved is checked. */
struct recommend_request {
    struct reco_saved *saved; /* n_saved records in wire order; strings point into memory */
    size_t n_saved;
    bool has_n, has_max_per_artist, has_ranking;
    uint32_t n, max_per_artist; /* as sent (0 when absent) */
    uint64_t variety;
    int32_t ranking;
    /* Steering, as sent: the last value of each field wins, a Target or Years sent twice is
     * merged field by field (as protobuf-c merges a repeated optional message). */
    bool has_discover;
    float discover;
    struct reco_target energy, valence, danceability, tempo; /* Target's fields */
    bool has_year_from, has_year_to;
    uint32_t year_from, year_to;
    bool has_explicit;
    bool explicit_; /* false: leave out explicit songs */
    /* The first feature, in wire order, whose name the model knows and whose value is not
     * finite (protobuf-c would have decoded it; the caller refuses it). */
    bool has_bad_feature;
    size_t bad_feature_track;
    enum model_feature bad_feature;
    void *memory; /* private: saved[] and every string, one allocation */
};

enum request_decode_status {
    REQUEST_DECODED,
    REQUEST_MALFORMED,      /* not a RecommendRequest as protobuf-c 1.4 reads one */
    REQUEST_TOO_MANY_SAVED, /* well-formed, but more than max_saved tracks (n_saved says how
                               many); nothing is allocated, saved is NULL */
};

/* Decodes payload[0..len). On REQUEST_DECODED fills *out, which the caller frees with
 * recommend_request_free; on REQUEST_TOO_MANY_SAVED fills only out->n_saved; on
 * REQUEST_MALFORMED leaves *out empty. Memory is bounded by max_saved records plus len bytes of
 * strings, allocated once, after a first pass has counted the tracks. A payload with more than
 * max_saved tracks is still read to its end (without storing anything) so a malformed one is
 * reported as malformed, as protobuf-c would. Strings are NUL-terminated copies, not checked
 * for UTF-8 (an embedded NUL shortens the C string). Thread-safe, no global state. */
enum request_decode_status recommend_request_decode(const uint8_t *payload, size_t len,
                                                    size_t max_saved,
                                                    struct recommend_request *out);

/* Frees what recommend_request_decode allocated and empties *req; safe on an empty one. */
void recommend_request_free(struct recommend_request *req);

#endif

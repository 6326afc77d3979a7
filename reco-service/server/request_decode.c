/* Decodes a mixtape.reco.RecommendRequest from protobuf wire format by hand (see
 * request_decode.h). Every rule below copies what protobuf-c 1.4's protobuf_c_message_unpack
 * does, quirks included; request_decode_test.c compares the two on edge cases and mutations. */
#include "request_decode.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum wire_type {
    WIRE_VARINT = 0,
    WIRE_64BIT = 1,
    WIRE_LENGTH = 2,
    WIRE_32BIT = 5,
};

/* Every reader below takes the position of what it reads and returns the position just after
 * it, or NULL when the bytes are not what protobuf-c accepts. The common one-byte cases are
 * inline; the rest is out of line. */

static const uint8_t *read_long_key(const uint8_t *p, const uint8_t *end, uint32_t *field)
{
    size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
    uint32_t number = (p[0] & 0x7fu) >> 3;
    unsigned shift = 4;
    for (size_t i = 1; i < max; i++, shift += 7) {
        number |= (uint32_t)(p[i] & 0x7fu) << shift;
        if (p[i] < 0x80) {
            *field = number;
            return p + i + 1;
        }
    }
    return NULL;
}

/* A field key (p < end): a varint of at most 5 bytes holding field << 3 | wire type. Like
 * protobuf-c, a one-byte key for field 0 is refused but a longer encoding of field 0 is read
 * as an unknown field; the field number keeps 32 bits. */
static inline const uint8_t *read_key(const uint8_t *p, const uint8_t *end, uint32_t *field,
                                      unsigned *wire)
{
    uint8_t first = p[0];
    *wire = first & 7u;
    if (first >= 0x80)
        return read_long_key(p, end, field);
    if (first < 8)
        return NULL;
    *field = first >> 3;
    return p + 1;
}

static const uint8_t *read_long_varint(const uint8_t *p, const uint8_t *end, uint64_t *value)
{
    size_t max = (size_t)(end - p) < 10 ? (size_t)(end - p) : 10;
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        v |= (uint64_t)(p[i] & 0x7fu) << (7 * i);
        if (p[i] < 0x80) {
            *value = v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* A varint of at most 10 bytes; bits past the 64th are dropped. */
static inline const uint8_t *read_varint(const uint8_t *p, const uint8_t *end, uint64_t *value)
{
    if (p < end && p[0] < 0x80) {
        *value = p[0];
        return p + 1;
    }
    if (end - p >= 2 && p[1] < 0x80) { /* a year */
        *value = (p[0] & 0x7fu) | (uint64_t)p[1] << 7;
        return p + 2;
    }
    if (end - p >= 3 && p[2] < 0x80) { /* a duration in ms */
        *value = (p[0] & 0x7fu) | (uint64_t)(p[1] & 0x7fu) << 7 | (uint64_t)p[2] << 14;
        return p + 3;
    }
    return read_long_varint(p, end, value);
}

static const uint8_t *read_long_length(const uint8_t *p, const uint8_t *end, size_t *len)
{
    size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
    uint64_t v = 0;
    for (size_t i = 0; i < max; i++) {
        v |= (uint64_t)(p[i] & 0x7fu) << (7 * i);
        if (p[i] < 0x80) {
            if (v > INT_MAX)
                return NULL;
            *len = (size_t)v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* The length of a length-delimited value (a varint of at most 5 bytes, at most INT_MAX),
 * checked to fit before end; returns the position of the value's first byte. */
static inline const uint8_t *read_length(const uint8_t *p, const uint8_t *end, size_t *len)
{
    size_t v;
    if (p < end && p[0] < 0x80) {
        v = p[0];
        p++;
    } else if (end - p >= 2 && p[1] < 0x80) { /* a track with features */
        v = (p[0] & 0x7fu) | (size_t)p[1] << 7;
        p += 2;
    } else {
        p = read_long_length(p, end, &v);
        if (!p)
            return NULL;
    }
    if (v > (size_t)(end - p))
        return NULL;
    *len = v;
    return p;
}

/* Steps over a value of the given wire type. Groups (3, 4) and the wire types 6 and 7 are
 * refused, as protobuf-c refuses them. */
static inline const uint8_t *skip_value(const uint8_t *p, const uint8_t *end, unsigned wire)
{
    uint64_t unused;
    size_t len;
    switch (wire) {
    case WIRE_VARINT:
        return read_varint(p, end, &unused);
    case WIRE_64BIT:
        return end - p >= 8 ? p + 8 : NULL;
    case WIRE_LENGTH:
        p = read_length(p, end, &len);
        return p ? p + len : NULL;
    case WIRE_32BIT:
        return end - p >= 4 ? p + 4 : NULL;
    default:
        return NULL;
    }
}

/* A length-delimited value (a string or an embedded message): its key must say so. *bytes is
 * where its len bytes start; the position returned is just after them. */
static inline const uint8_t *read_bytes(const uint8_t *p, const uint8_t *end, unsigned wire,
                                        const uint8_t **bytes, size_t *len)
{
    if (wire != WIRE_LENGTH)
        return NULL;
    p = read_length(p, end, len);
    if (!p)
        return NULL;
    *bytes = p;
    return p + *len;
}

/* A uint32 / int32 / uint64 / enum value: its key must say varint. */
static inline const uint8_t *read_number(const uint8_t *p, const uint8_t *end, unsigned wire,
                                         uint64_t *value)
{
    return wire == WIRE_VARINT ? read_varint(p, end, value) : NULL;
}

/* A float: its key must say 32-bit (little-endian, like protobuf-c here). */
static inline const uint8_t *read_float(const uint8_t *p, const uint8_t *end, unsigned wire,
                                        float *value)
{
    if (wire != WIRE_32BIT || end - p < 4)
        return NULL;
    memcpy(value, p, sizeof *value);
    return p + 4;
}

/* A bool. protobuf-c does not check a bool's wire type: any valid one is accepted, and the
 * value is true when any byte it occupies (a length prefix included) has a low 7 bits set. */
static const uint8_t *read_bool(const uint8_t *p, const uint8_t *end, unsigned wire, bool *value)
{
    const uint8_t *after = skip_value(p, end, wire);
    if (!after)
        return NULL;
    uint8_t bits = 0;
    for (; p < after; p++)
        bits |= *p;
    *value = (bits & 0x7fu) != 0;
    return after;
}

/* Where strings go, and what the decode has found so far. */
struct decoder {
    char *text;     /* next free byte of the string block; NULL: check the bytes only */
    char *text_end; /* for the assertion that the payload-sized block cannot overflow */
    size_t track;   /* index of the SavedTrack being decoded */
    struct recommend_request *out;
};

/* A NUL-terminated copy of a string at *text, which moves past it (NULL when only checking).
 * Each copy takes len + 1 bytes for at least len + 2 bytes of payload (key, length, text), so a
 * block of the payload's size always holds them. */
static inline const char *copy_text(char **text, const char *text_end, const uint8_t *at,
                                    size_t len)
{
    char *copy = *text;
    if (!copy)
        return NULL;
    assert(len < (size_t)(text_end - copy));
    (void)text_end;
    /* Ids, names and artists are short: two overlapping fixed-size copies beat a call. */
    if (len >= 8 && len <= 16) {
        memcpy(copy, at, 8);
        memcpy(copy + len - 8, at + len - 8, 8);
    } else if (len > 16 && len <= 32) {
        memcpy(copy, at, 16);
        memcpy(copy + len - 16, at + len - 16, 16);
    } else {
        memcpy(copy, at, len);
    }
    copy[len] = '\0';
    *text = copy + len + 1;
    return copy;
}

/* One Feature message: name and value are required; the last of each wins. */
static bool decode_feature(const uint8_t *p, const uint8_t *end, const uint8_t **name,
                           size_t *name_len, double *value)
{
    bool has_name = false, has_value = false;
    while (p < end) {
        uint32_t field;
        unsigned wire;
        p = read_key(p, end, &field, &wire);
        if (!p)
            return false;
        if (field == FEATURE_NAME) {
            p = read_bytes(p, end, wire, name, name_len);
            has_name = true;
        } else if (field == FEATURE_VALUE) {
            if (wire != WIRE_64BIT || end - p < 8)
                return false;
            memcpy(value, p, sizeof *value); /* little-endian, like protobuf-c here */
            p += 8;
            has_value = true;
        } else {
            p = skip_value(p, end, wire);
        }
        if (!p)
            return false;
    }
    return has_name && has_value;
}

/* The model's feature names with their lengths, made once from model_feature_name, so a
 * lookup compares lengths before bytes (model_feature_from_name calls strcmp up to 15 times). */
static struct {
    const char *name;
    size_t len;
} feature_names[FEAT_COUNT];
static pthread_once_t feature_names_once = PTHREAD_ONCE_INIT;

static void make_feature_names(void)
{
    for (int f = 0; f < FEAT_COUNT; f++) {
        feature_names[f].name = model_feature_name((enum model_feature)f);
        feature_names[f].len = strlen(feature_names[f].name);
    }
}

/* Looks a feature name up as a C string, as consumers of protobuf-c's copy saw it: an embedded
 * NUL ends it. The same answer as model_feature_from_name. */
static bool feature_by_name(const uint8_t *name, size_t len, enum model_feature *feature)
{
    const uint8_t *nul = memchr(name, '\0', len);
    if (nul)
        len = (size_t)(nul - name);
    pthread_once(&feature_names_once, make_feature_names);
    for (int f = 0; f < FEAT_COUNT; f++) {
        if (feature_names[f].len == len && memcmp(feature_names[f].name, name, len) == 0) {
            *feature = (enum model_feature)f;
            return true;
        }
    }
    return false;
}

/* A features entry of a SavedTrack (the bytes of one Feature) into s->raw. A known feature
 * with a value that is not finite is recorded in d->out (the first one only) and not stored. */
static bool decode_track_feature(struct decoder *d, const uint8_t *p, const uint8_t *end,
                                 struct reco_saved *s, uint32_t *from_features)
{
    const uint8_t *name = NULL;
    size_t name_len = 0;
    double value = 0;
    enum model_feature feature;
    if (!decode_feature(p, end, &name, &name_len, &value))
        return false;
    if (!feature_by_name(name, name_len, &feature))
        return true;
    if (!isfinite(value)) {
        if (!d->out->has_bad_feature) {
            d->out->has_bad_feature = true;
            d->out->bad_feature_track = d->track;
            d->out->bad_feature = feature;
        }
        return true;
    }
    s->raw.value[feature] = value;
    s->raw.present |= 1u << feature;
    *from_features |= 1u << feature;
    return true;
}

/* A SavedTrack's scalar field (duration_ms, year, explicit) as the feature of the same name in
 * s->raw, unless a Feature message named it (from_features): handlers.c used to apply features
 * after the scalar fields. */
static inline void set_scalar_feature(struct reco_saved *s, uint32_t from_features,
                                      enum model_feature feature, double value)
{
    if (!(from_features & (1u << feature)))
        s->raw.value[feature] = value;
    s->raw.present |= 1u << feature;
}

/* A key as one byte: field << 3 | wire type, for the fields 1..15. */
#define KEY(field, wire) ((uint8_t)((field) << 3 | (wire)))

/* One SavedTrack into *s, which clear_track has set to "nothing known" (artists past n_artists
 * and feature values without their present bit stay unset: nothing reads them). The loop
 * dispatches on the key byte: keys of
 * more than one byte (an unusual but valid encoding) are read first and, for fields 1..15,
 * turned into that byte. The scalar fields fill s->raw unless a feature of the same name was
 * sent, since handlers.c used to apply features after them. */
static bool decode_track(struct decoder *d, const uint8_t *p, const uint8_t *end,
                         struct reco_saved *s)
{
    const uint8_t *id = NULL, *isrc = NULL, *name = NULL;
    size_t id_len = 0, isrc_len = 0, name_len = 0;
    bool has_duration = false, has_year = false, has_explicit = false, explicit_ = false;
    uint32_t duration_ms = 0, year = 0;
    uint32_t from_features = 0; /* features set by a Feature message */
    char *text = d->text;
    while (p < end) {
        uint8_t key = p[0];
        uint64_t number = 0;
        const uint8_t *artist, *feature;
        size_t len;
        if (key >= 0x80 || key < 8) {
            uint32_t field;
            unsigned wire;
            p = read_key(p, end, &field, &wire);
            if (p && field > 15)
                p = skip_value(p, end, wire); /* unknown: SavedTrack has fields 1..8 */
            if (!p)
                return false;
            if (field > 15)
                continue;
            key = KEY(field, wire);
        } else {
            p++;
        }
        switch (key) {
        case KEY(TRACK_ID, WIRE_LENGTH):
            p = read_bytes(p, end, WIRE_LENGTH, &id, &id_len);
            break;
        case KEY(TRACK_ISRC, WIRE_LENGTH):
            p = read_bytes(p, end, WIRE_LENGTH, &isrc, &isrc_len);
            break;
        case KEY(TRACK_NAME, WIRE_LENGTH):
            p = read_bytes(p, end, WIRE_LENGTH, &name, &name_len);
            break;
        case KEY(TRACK_ARTISTS, WIRE_LENGTH):
            p = read_bytes(p, end, WIRE_LENGTH, &artist, &len);
            if (p && s->n_artists < RECO_MAX_ARTISTS)
                s->artists[s->n_artists++] = copy_text(&text, d->text_end, artist, len);
            break;
        case KEY(TRACK_DURATION_MS, WIRE_VARINT):
            p = read_varint(p, end, &number);
            duration_ms = (uint32_t)number;
            has_duration = true;
            break;
        case KEY(TRACK_YEAR, WIRE_VARINT):
            p = read_varint(p, end, &number);
            year = (uint32_t)number;
            has_year = true;
            break;
        case KEY(TRACK_EXPLICIT, WIRE_VARINT):
        case KEY(TRACK_EXPLICIT, WIRE_64BIT):
        case KEY(TRACK_EXPLICIT, WIRE_LENGTH):
        case KEY(TRACK_EXPLICIT, WIRE_32BIT):
            p = read_bool(p, end, key & 7u, &explicit_);
            has_explicit = true;
            break;
        case KEY(TRACK_FEATURES, WIRE_LENGTH):
            p = read_bytes(p, end, WIRE_LENGTH, &feature, &len);
            if (p && !decode_track_feature(d, feature, p, s, &from_features))
                return false;
            break;
        default:
            if ((key >> 3) >= TRACK_ID && (key >> 3) <= TRACK_FEATURES)
                return false; /* a known field with the wrong wire type (or a group) */
            p = skip_value(p, end, key & 7u);
        }
        if (!p)
            return false;
    }
    if (id)
        s->id = copy_text(&text, d->text_end, id, id_len);
    if (isrc)
        s->isrc = copy_text(&text, d->text_end, isrc, isrc_len);
    if (name)
        s->name = copy_text(&text, d->text_end, name, name_len);
    d->text = text;
    if (has_duration) {
        s->duration_ms = duration_ms;
        set_scalar_feature(s, from_features, FEAT_DURATION_MS, duration_ms);
    }
    if (has_year && year > 0)
        set_scalar_feature(s, from_features, FEAT_YEAR, year);
    if (has_explicit)
        set_scalar_feature(s, from_features, FEAT_EXPLICIT, explicit_ ? 1.0 : 0.0);
    return true;
}

/* One Target message: each field it carries overrides what an earlier Target set. */
static bool decode_target(const uint8_t *p, const uint8_t *end, struct recommend_request *out)
{
    while (p < end) {
        uint32_t field;
        unsigned wire;
        p = read_key(p, end, &field, &wire);
        if (!p)
            return false;
        struct reco_target *target = NULL;
        switch (field) {
        case TARGET_ENERGY:
            target = &out->energy;
            break;
        case TARGET_VALENCE:
            target = &out->valence;
            break;
        case TARGET_DANCEABILITY:
            target = &out->danceability;
            break;
        case TARGET_TEMPO:
            target = &out->tempo;
            break;
        default:
            break;
        }
        if (target) {
            p = read_float(p, end, wire, &target->value);
            target->set = true;
        } else {
            p = skip_value(p, end, wire);
        }
        if (!p)
            return false;
    }
    return true;
}

/* One Years message: each field it carries overrides what an earlier Years set. */
static bool decode_years(const uint8_t *p, const uint8_t *end, struct recommend_request *out)
{
    while (p < end) {
        uint32_t field;
        unsigned wire;
        uint64_t number = 0;
        p = read_key(p, end, &field, &wire);
        if (!p)
            return false;
        if (field == YEARS_FROM) {
            p = read_number(p, end, wire, &number);
            out->year_from = (uint32_t)number;
            out->has_year_from = true;
        } else if (field == YEARS_TO) {
            p = read_number(p, end, wire, &number);
            out->year_to = (uint32_t)number;
            out->has_year_to = true;
        } else {
            p = skip_value(p, end, wire);
        }
        if (!p)
            return false;
    }
    return true;
}

/* First pass: checks the top level's keys and lengths and counts the saved tracks. */
static bool count_saved(const uint8_t *p, const uint8_t *end, size_t *count)
{
    size_t n = 0;
    while (p < end) {
        uint32_t field;
        unsigned wire;
        p = read_key(p, end, &field, &wire);
        if (!p)
            return false;
        if (field == REQUEST_SAVED) {
            if (wire != WIRE_LENGTH)
                return false;
            n++;
        }
        p = skip_value(p, end, wire);
        if (!p)
            return false;
    }
    *count = n;
    return true;
}

/* What decode_track expects of a record before it fills one: every field it may leave alone
 * set to "absent". The rest (artists past n_artists, feature values without their present bit)
 * is never read, so a request's records are not zeroed whole (300 KB at 1,000 tracks). */
static void clear_track(struct reco_saved *s)
{
    s->id = NULL;
    s->isrc = NULL;
    s->name = NULL;
    s->n_artists = 0;
    s->duration_ms = 0;
    s->raw.present = 0;
}

/* Second pass: the whole request. saved is NULL when only checking: each track then goes
 * through one scratch record. */
static bool decode_request(struct decoder *d, const uint8_t *p, const uint8_t *end,
                           struct reco_saved *saved)
{
    struct recommend_request *out = d->out;
    struct reco_saved scratch;
    while (p < end) {
        uint32_t field;
        unsigned wire;
        uint64_t number = 0;
        const uint8_t *message; /* a length-delimited value's first byte */
        size_t len;
        p = read_key(p, end, &field, &wire);
        if (!p)
            return false;
        switch (field) {
        case REQUEST_SAVED: {
            p = read_bytes(p, end, wire, &message, &len);
            if (!p)
                return false;
            struct reco_saved *s = saved ? &saved[d->track] : &scratch;
            clear_track(s);
            if (!decode_track(d, message, p, s))
                return false;
            d->track++;
            break;
        }
        case REQUEST_N:
            p = read_number(p, end, wire, &number);
            out->n = (uint32_t)number;
            out->has_n = true;
            break;
        case REQUEST_VARIETY:
            p = read_number(p, end, wire, &number);
            out->variety = number;
            break;
        case REQUEST_MAX_PER_ARTIST:
            p = read_number(p, end, wire, &number);
            out->max_per_artist = (uint32_t)number;
            out->has_max_per_artist = true;
            break;
        case REQUEST_RANKING:
            p = read_number(p, end, wire, &number);
            out->ranking = (int32_t)(uint32_t)number; /* an enum is an int32 on the wire */
            out->has_ranking = true;
            break;
        case REQUEST_DISCOVER:
            p = read_float(p, end, wire, &out->discover);
            out->has_discover = true;
            break;
        case REQUEST_TARGET:
            p = read_bytes(p, end, wire, &message, &len);
            if (p && !decode_target(message, p, out))
                return false;
            break;
        case REQUEST_YEARS:
            p = read_bytes(p, end, wire, &message, &len);
            if (p && !decode_years(message, p, out))
                return false;
            break;
        case REQUEST_EXPLICIT:
            p = read_bool(p, end, wire, &out->explicit_);
            out->has_explicit = true;
            break;
        default:
            p = skip_value(p, end, wire);
        }
        if (!p)
            return false;
    }
    return true;
}

enum request_decode_status recommend_request_decode(const uint8_t *payload, size_t len,
                                                    size_t max_saved, struct recommend_request *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return REQUEST_DECODED; /* an empty message: every field absent */
    const uint8_t *end = payload + len;
    size_t count;
    if (!count_saved(payload, end, &count))
        return REQUEST_MALFORMED;
    struct recommend_request decoded = {0};
    struct decoder d = {.out = &decoded};
    if (count > max_saved) {
        if (!decode_request(&d, payload, end, NULL))
            return REQUEST_MALFORMED;
        out->n_saved = count;
        return REQUEST_TOO_MANY_SAVED;
    }
    /* One block: the records, then every string (see copy_text for why len bytes suffice). */
    size_t records = count * sizeof(struct reco_saved);
    decoded.memory = xmalloc(records + len + 1);
    decoded.saved = decoded.memory;
    d.text = (char *)decoded.memory + records;
    d.text_end = d.text + len + 1;
    if (!decode_request(&d, payload, end, decoded.saved)) {
        free(decoded.memory);
        return REQUEST_MALFORMED;
    }
    assert(d.track == count);
    decoded.n_saved = count;
    *out = decoded;
    return REQUEST_DECODED;
}

void recommend_request_free(struct recommend_request *req)
{
    free(req->memory);
    memset(req, 0, sizeof *req);
}

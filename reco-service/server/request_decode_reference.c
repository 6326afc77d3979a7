/* The RecommendRequest decode of handlers.c before request_decode.c replaced it (protobuf-c's
 * unpacker into an arena), kept for tests only as the reference the hand-written decoder must
 * agree with, and the comparison of the two. */
#include "request_decode_reference.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reco.pb-c.h"
#include "errbuf.h"
#include "xalloc.h"

/* Where a RecommendRequest is decoded: protobuf-c allocates every message, string and array
 * of it separately (thousands of mallocs for a thousand saved tracks), so it allocates from
 * this instead, a bump allocator over blocks, freed all at once by arena_release. The first
 * block is sized from the payload; a decoded request measured under four times its size. */
#define ARENA_FACTOR 4u
#define ARENA_SLACK  4096u

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    max_align_t data[]; /* size bytes */
};

struct arena {
    struct arena_block *head;
    size_t next_size;
};

static void *arena_alloc(void *data, size_t size)
{
    struct arena *a = data;
    if (size > SIZE_MAX / 4)
        return NULL;
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t want = a->next_size;
        while (want < size)
            want *= 2;
        b = malloc(sizeof *b + want);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = want;
        b->used = 0;
        a->head = b;
        a->next_size = want * 2;
    }
    void *at = (char *)b->data + b->used;
    b->used += size;
    return at;
}

/* Single frees do nothing: arena_release returns everything. */
static void arena_free_one(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

static void arena_release(struct arena *a)
{
    if (!a)
        return;
    while (a->head) {
        struct arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    free(a);
}

/* The limits and ranges handlers.c checked on a decoded request; *n is the playlist length
 * asked for (or the default). Returns RPC_OK, or the code with err naming the field. */
static enum rpc_code reference_check(const Mixtape__Reco__RecommendRequest *msg,
                                     const struct handler_limits *limits, uint32_t *n, char *err,
                                     size_t err_len)
{
    if (msg->n_saved > limits->max_saved) {
        errbuf_set(err, err_len, "saved: %zu tracks exceeds the limit of %u (--max-saved)",
                   msg->n_saved, limits->max_saved);
        return RPC_RESOURCE_EXHAUSTED;
    }
    *n = msg->has_n ? msg->n : (RECO_DEFAULT_N < limits->max_n ? RECO_DEFAULT_N : limits->max_n);
    if (*n == 0 || *n > limits->max_n) {
        errbuf_set(err, err_len, "n: %u is outside 1..%u (--max-n)", *n, limits->max_n);
        return RPC_INVALID_ARGUMENT;
    }
    if (msg->has_max_per_artist && msg->max_per_artist == 0) {
        errbuf_set(err, err_len, "max_per_artist: must be at least 1");
        return RPC_INVALID_ARGUMENT;
    }
    if (msg->has_ranking && (int)msg->ranking < 0) {
        errbuf_set(err, err_len, "ranking: %d is not a known ranking", (int)msg->ranking);
        return RPC_INVALID_ARGUMENT;
    }
    /* Larger values go through: recommend() knows which rankings exist. */
    const Mixtape__Reco__Years *years = msg->years;
    if (years && ((years->has_from && years->from > UINT16_MAX) ||
                  (years->has_to && years->to > UINT16_MAX))) {
        errbuf_set(err, err_len, "years: %u is outside %u..%u",
                   years->has_from && years->from > UINT16_MAX ? years->from : years->to,
                   RECO_MIN_YEAR, RECO_MAX_YEAR);
        return RPC_INVALID_ARGUMENT;
    }
    return RPC_OK;
}

/* Fills s from saved track i of the request (strings point into the message). Returns false,
 * with err naming the field, when a feature is not a finite number. */
static bool reference_saved_track(const Mixtape__Reco__SavedTrack *t, size_t i,
                                  struct reco_saved *s, char *err, size_t err_len)
{
    s->id = t->id;
    s->isrc = t->isrc;
    s->name = t->name;
    s->n_artists = t->n_artists < RECO_MAX_ARTISTS ? (uint32_t)t->n_artists : RECO_MAX_ARTISTS;
    for (uint32_t a = 0; a < s->n_artists; a++)
        s->artists[a] = t->artists[a];
    if (t->has_duration_ms) {
        s->duration_ms = t->duration_ms;
        s->raw.value[FEAT_DURATION_MS] = t->duration_ms;
        s->raw.present |= 1u << FEAT_DURATION_MS;
    }
    if (t->has_year && t->year > 0) {
        s->raw.value[FEAT_YEAR] = t->year;
        s->raw.present |= 1u << FEAT_YEAR;
    }
    if (t->has_explicit_) {
        s->raw.value[FEAT_EXPLICIT] = t->explicit_ ? 1.0 : 0.0;
        s->raw.present |= 1u << FEAT_EXPLICIT;
    }
    for (size_t f = 0; f < t->n_features; f++) {
        enum model_feature feature;
        if (model_feature_from_name(t->features[f]->name, &feature) != 0)
            continue;
        if (!isfinite(t->features[f]->value)) {
            errbuf_set(err, err_len, "saved[%zu].features.%s: not a finite number", i,
                       model_feature_name(feature));
            return false;
        }
        s->raw.value[feature] = t->features[f]->value;
        s->raw.present |= 1u << feature;
    }
    return true;
}

/* The options of a checked request, n being the playlist length reference_check settled. */
static struct reco_options reference_options(const Mixtape__Reco__RecommendRequest *msg, uint32_t n)
{
    const Mixtape__Reco__Years *years = msg->years;
    struct reco_options options = {
        .n = n,
        .variety = msg->variety,
        .max_per_artist = msg->has_max_per_artist ? msg->max_per_artist : 0,
        .ranking = (enum reco_ranking)msg->ranking,
        .discover = msg->has_discover ? msg->discover : 0.0f,
        .year_from = years && years->has_from ? (uint16_t)years->from : 0,
        .year_to = years && years->has_to ? (uint16_t)years->to : 0,
        .no_explicit = msg->has_explicit_ && !msg->explicit_,
    };
    const Mixtape__Reco__Target *target = msg->target;
    if (target) {
        options.energy = (struct reco_target){target->has_energy, target->energy};
        options.valence = (struct reco_target){target->has_valence, target->valence};
        options.danceability = (struct reco_target){target->has_danceability, target->danceability};
        options.tempo = (struct reco_target){target->has_tempo, target->tempo};
    }
    return options;
}

enum rpc_code reference_call_decode(const uint8_t *payload, size_t len,
                                    const struct handler_limits *limits,
                                    struct recommend_call *call, char *err, size_t err_len)
{
    enum rpc_code code = RPC_INVALID_ARGUMENT;
    memset(call, 0, sizeof *call);
    struct arena *arena = xcalloc(1, sizeof *arena);
    arena->next_size = len < (SIZE_MAX - ARENA_SLACK) / ARENA_FACTOR
                           ? len * ARENA_FACTOR + ARENA_SLACK
                           : SIZE_MAX / 4;
    ProtobufCAllocator allocator = {
        .alloc = arena_alloc, .free = arena_free_one, .allocator_data = arena};
    Mixtape__Reco__RecommendRequest *msg =
        mixtape__reco__recommend_request__unpack(&allocator, len, payload);
    struct reco_saved *saved = NULL;
    if (!msg) {
        errbuf_set(err, err_len, "payload: %zu bytes are not a mixtape.reco.RecommendRequest", len);
        goto done;
    }
    uint32_t n = 0;
    code = reference_check(msg, limits, &n, err, err_len);
    if (code != RPC_OK)
        goto done;
    code = RPC_INVALID_ARGUMENT;
    saved = xcalloc(msg->n_saved, sizeof *saved);
    for (size_t i = 0; i < msg->n_saved; i++)
        if (!reference_saved_track(msg->saved[i], i, &saved[i], err, err_len))
            goto done;
    call->saved = saved;
    call->n_saved = msg->n_saved;
    call->options = reference_options(msg, n);
    call->memory = arena; /* saved[] points into it */
    saved = NULL;
    arena = NULL;
    code = RPC_OK;
done:
    free(saved);
    arena_release(arena); /* msg, when decoded, lives in it */
    return code;
}

void reference_call_free(struct recommend_call *call)
{
    free(call->saved);
    arena_release(call->memory);
    memset(call, 0, sizeof *call);
}

/* Both NULL, or the same C string. */
static bool same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool same_track(const struct reco_saved *a, const struct reco_saved *b, char *why,
                       size_t why_len)
{
    if (!same_text(a->id, b->id) || !same_text(a->isrc, b->isrc) || !same_text(a->name, b->name)) {
        errbuf_set(why, why_len, "id/isrc/name: '%s' '%s' '%s' vs '%s' '%s' '%s'",
                   a->id ? a->id : "(null)", a->isrc ? a->isrc : "(null)",
                   a->name ? a->name : "(null)", b->id ? b->id : "(null)",
                   b->isrc ? b->isrc : "(null)", b->name ? b->name : "(null)");
        return false;
    }
    if (a->n_artists != b->n_artists) {
        errbuf_set(why, why_len, "n_artists %u vs %u", a->n_artists, b->n_artists);
        return false;
    }
    for (uint32_t i = 0; i < a->n_artists; i++) {
        if (!same_text(a->artists[i], b->artists[i])) {
            errbuf_set(why, why_len, "artists[%u]", i);
            return false;
        }
    }
    if (a->duration_ms != b->duration_ms) {
        errbuf_set(why, why_len, "duration_ms %u vs %u", a->duration_ms, b->duration_ms);
        return false;
    }
    if (a->raw.present != b->raw.present) {
        errbuf_set(why, why_len, "raw features: present %#x vs %#x", a->raw.present,
                   b->raw.present);
        return false;
    }
    /* A value counts only with its present bit (the decoder leaves the others unset). The
     * two decoders must agree bit for bit (a NaN's payload, the sign of a zero), so the bytes
     * are compared, not the values. */
    for (int f = 0; f < FEAT_COUNT; f++) {
        if ((a->raw.present & (1u << f)) &&
            /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
            memcmp(&a->raw.value[f], &b->raw.value[f], sizeof a->raw.value[f]) != 0) {
            errbuf_set(why, why_len, "raw features: %s differs",
                       model_feature_name((enum model_feature)f));
            return false;
        }
    }
    return true;
}

bool request_decode_agrees(const uint8_t *payload, size_t len, const struct handler_limits *limits,
                           char *why, size_t why_len)
{
    struct recommend_call want, got;
    char want_err[512] = "", got_err[512] = "";
    enum rpc_code want_code =
        reference_call_decode(payload, len, limits, &want, want_err, sizeof want_err);
    enum rpc_code got_code =
        recommend_call_decode(payload, len, limits, &got, got_err, sizeof got_err);
    bool same = false;
    if (want_code != got_code || strcmp(want_err, got_err) != 0) {
        errbuf_set(why, why_len, "protobuf-c: %s '%s'; request_decode: %s '%s'",
                   rpc_code_name(want_code), want_err, rpc_code_name(got_code), got_err);
        goto done;
    }
    if (want_code != RPC_OK) {
        same = true;
        goto done;
    }
    if (want.n_saved != got.n_saved || want.options.n != got.options.n ||
        want.options.variety != got.options.variety ||
        want.options.max_per_artist != got.options.max_per_artist ||
        want.options.ranking != got.options.ranking) {
        errbuf_set(why, why_len,
                   "options: saved %zu n %u variety %llu max_per_artist %u ranking %d vs "
                   "saved %zu n %u variety %llu max_per_artist %u ranking %d",
                   want.n_saved, want.options.n, (unsigned long long)want.options.variety,
                   want.options.max_per_artist, (int)want.options.ranking, got.n_saved,
                   got.options.n, (unsigned long long)got.options.variety,
                   got.options.max_per_artist, (int)got.options.ranking);
        goto done;
    }
    const struct reco_options *wo = &want.options, *go = &got.options;
    const struct reco_target *wt[] = {&wo->energy, &wo->valence, &wo->danceability, &wo->tempo};
    const struct reco_target *gt[] = {&go->energy, &go->valence, &go->danceability, &go->tempo};
    /* Bit for bit, as the raw features above: a NaN's payload and a zero's sign count. */
    bool same_targets = true;
    for (size_t t = 0; t < 4; t++)
        same_targets &=
            wt[t]->set == gt[t]->set &&
            /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
            (!wt[t]->set || memcmp(&wt[t]->value, &gt[t]->value, sizeof(float)) == 0);
    /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
    bool same_discover = memcmp(&wo->discover, &go->discover, sizeof wo->discover) == 0;
    if (!same_discover || !same_targets || wo->year_from != go->year_from ||
        wo->year_to != go->year_to || wo->no_explicit != go->no_explicit) {
        errbuf_set(why, why_len,
                   "steering: discover %g targets %d%d%d%d %g %g %g %g years %u-%u no_explicit %d "
                   "vs discover %g targets %d%d%d%d %g %g %g %g years %u-%u no_explicit %d",
                   (double)wo->discover, wo->energy.set, wo->valence.set, wo->danceability.set,
                   wo->tempo.set, (double)wo->energy.value, (double)wo->valence.value,
                   (double)wo->danceability.value, (double)wo->tempo.value, wo->year_from,
                   wo->year_to, wo->no_explicit, (double)go->discover, go->energy.set,
                   go->valence.set, go->danceability.set, go->tempo.set, (double)go->energy.value,
                   (double)go->valence.value, (double)go->danceability.value,
                   (double)go->tempo.value, go->year_from, go->year_to, go->no_explicit);
        goto done;
    }
    for (size_t i = 0; i < want.n_saved; i++) {
        char detail[400];
        if (!same_track(&want.saved[i], &got.saved[i], detail, sizeof detail)) {
            errbuf_set(why, why_len, "saved[%zu]: %s", i, detail);
            goto done;
        }
    }
    same = true;
done:
    if (want_code == RPC_OK)
        reference_call_free(&want);
    if (got_code == RPC_OK)
        recommend_call_free(&got);
    return same;
}

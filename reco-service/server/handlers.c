/* The RPC methods of reco-service: see handlers.h. */
#include "handlers.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reco.pb-c.h"
#include "errbuf.h"
#include "request_decode.h"
#include "xalloc.h"

/* The wire's rankings (proto/reco.proto) are the library's (recommend.h), number for number:
 * recommend_call_decode passes the wire value straight through. */
_Static_assert((int)RECO_RANK_DEFAULT == (int)MIXTAPE__RECO__RANKING__RANKING_DEFAULT,
               "ranking DEFAULT");
_Static_assert((int)RECO_RANK_MEAN_COSINE == (int)MIXTAPE__RECO__RANKING__RANKING_MEAN_COSINE,
               "ranking MEAN_COSINE");
_Static_assert((int)RECO_RANK_CENTROID_COSINE ==
                   (int)MIXTAPE__RECO__RANKING__RANKING_CENTROID_COSINE,
               "ranking CENTROID_COSINE");
_Static_assert((int)RECO_RANK_NEAREST_NEIGHBOURS ==
                   (int)MIXTAPE__RECO__RANKING__RANKING_NEAREST_NEIGHBOURS,
               "ranking NEAREST_NEIGHBOURS");
_Static_assert((int)RECO_RANK_NEIGHBOUR_VOTES ==
                   (int)MIXTAPE__RECO__RANKING__RANKING_NEIGHBOUR_VOTES,
               "ranking NEIGHBOUR_VOTES");
_Static_assert((int)RECO_RANK_VOTES_AND_ARTISTS ==
                   (int)MIXTAPE__RECO__RANKING__RANKING_VOTES_AND_ARTISTS,
               "ranking VOTES_AND_ARTISTS");
_Static_assert((int)RECO_RANK_FLAT == (int)MIXTAPE__RECO__RANKING__RANKING_FLAT, "ranking FLAT");
_Static_assert((int)RECO_RANK_MEAN_AND_ARTISTS ==
                   (int)MIXTAPE__RECO__RANKING__RANKING_MEAN_AND_ARTISTS,
               "ranking MEAN_AND_ARTISTS");

enum rpc_code recommend_call_decode(const uint8_t *payload, size_t len,
                                    const struct handler_limits *limits,
                                    struct recommend_call *call, char *err, size_t err_len)
{
    enum rpc_code code = RPC_INVALID_ARGUMENT;
    memset(call, 0, sizeof *call);
    struct recommend_request req;
    enum request_decode_status status =
        recommend_request_decode(payload, len, limits->max_saved, &req);
    if (status == REQUEST_MALFORMED) {
        errbuf_set(err, err_len, "payload: %zu bytes are not a mixtape.reco.RecommendRequest", len);
        goto done;
    }
    if (status == REQUEST_TOO_MANY_SAVED) {
        errbuf_set(err, err_len, "saved: %zu tracks exceeds the limit of %u (--max-saved)",
                   req.n_saved, limits->max_saved);
        code = RPC_RESOURCE_EXHAUSTED;
        goto done;
    }
    uint32_t n =
        req.has_n ? req.n : (RECO_DEFAULT_N < limits->max_n ? RECO_DEFAULT_N : limits->max_n);
    if (n == 0 || n > limits->max_n) {
        errbuf_set(err, err_len, "n: %u is outside 1..%u (--max-n)", n, limits->max_n);
        goto done;
    }
    if (req.has_max_per_artist && req.max_per_artist == 0) {
        errbuf_set(err, err_len, "max_per_artist: must be at least 1");
        goto done;
    }
    if (req.has_ranking && req.ranking < 0) {
        errbuf_set(err, err_len, "ranking: %d is not a known ranking", (int)req.ranking);
        goto done;
    }
    /* Larger rankings go through: recommend() knows which exist. The rest of the steering is
     * checked by recommend() too, but a year must fit its 16-bit field first. */
    if ((req.has_year_from && req.year_from > UINT16_MAX) ||
        (req.has_year_to && req.year_to > UINT16_MAX)) {
        errbuf_set(err, err_len, "years: %u is outside %u..%u",
                   req.has_year_from && req.year_from > UINT16_MAX ? req.year_from : req.year_to,
                   RECO_MIN_YEAR, RECO_MAX_YEAR);
        goto done;
    }
    if (req.has_bad_feature) {
        errbuf_set(err, err_len, "saved[%zu].features.%s: not a finite number",
                   req.bad_feature_track, model_feature_name(req.bad_feature));
        goto done;
    }
    call->saved = req.saved;
    call->n_saved = req.n_saved;
    call->options = (struct reco_options){
        .n = n,
        .variety = req.variety,
        .max_per_artist = req.has_max_per_artist ? req.max_per_artist : 0,
        .ranking = (enum reco_ranking)req.ranking,
        .discover = req.has_discover ? req.discover : 0.0f,
        .energy = req.energy,
        .valence = req.valence,
        .danceability = req.danceability,
        .tempo = req.tempo,
        .year_from = req.has_year_from ? (uint16_t)req.year_from : 0,
        .year_to = req.has_year_to ? (uint16_t)req.year_to : 0,
        .no_explicit = req.has_explicit && !req.explicit_,
    };
    call->memory = req.memory;
    req.memory = NULL;
    code = RPC_OK;
done:
    recommend_request_free(&req);
    return code;
}

void recommend_call_free(struct recommend_call *call)
{
    free(call->memory);
    memset(call, 0, sizeof *call);
}

static enum rpc_code code_of(enum reco_status status)
{
    switch (status) {
    case RECO_OK:
        return RPC_OK;
    case RECO_ERR_INVALID:
        return RPC_INVALID_ARGUMENT;
    case RECO_ERR_TOO_LARGE:
    case RECO_ERR_NOMEM:
        return RPC_RESOURCE_EXHAUSTED;
    case RECO_ERR_NO_SAVED:
        return RPC_FAILED_PRECONDITION;
    case RECO_ERR_NO_MATCH:
        return RPC_NOT_FOUND;
    }
    return RPC_INTERNAL;
}

/* Casts away const for protobuf-c, which only reads these while packing. */
static char *text(const char *s)
{
    return (char *)(uintptr_t)s;
}

static void pack_reply(const ProtobufCMessage *msg, struct handler_outcome *out)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    out->payload = xmalloc(size);
    out->payload_len = protobuf_c_message_pack(msg, out->payload);
}

/* The reply's order of styles: most saved tracks first, then most picks, then cluster. */
static int compare_shares(const void *a, const void *b)
{
    const struct reco_cluster_share *x = a, *y = b;
    if (x->saved != y->saved)
        return x->saved > y->saved ? -1 : 1;
    if (x->slots != y->slots)
        return x->slots > y->slots ? -1 : 1;
    return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

static Mixtape__Reco__Reason reason_of(enum reco_reason reason)
{
    switch (reason) {
    case RECO_REASON_SAME_ARTIST:
        return MIXTAPE__RECO__REASON__REASON_SAME_ARTIST;
    case RECO_REASON_NEW_ARTIST:
        return MIXTAPE__RECO__REASON__REASON_NEW_ARTIST;
    case RECO_REASON_SIMILAR_SOUND:
        break;
    }
    return MIXTAPE__RECO__REASON__REASON_SIMILAR_SOUND;
}

/* The names and year ranges of the RECO_DECADES entries of struct reco_stats. */
static const struct {
    const char *name;
    uint32_t from, to; /* 0: open */
} decades[] = {
    {"unknown year", 0, 0}, {"before 1960", 0, 1959}, {"1960s", 1960, 1969},
    {"1970s", 1970, 1979},  {"1980s", 1980, 1989},    {"1990s", 1990, 1999},
    {"2000s", 2000, 2009},  {"2010s", 2010, 2019},    {"2020s", 2020, 0},
};

_Static_assert(RECO_DECADES == sizeof decades / sizeof decades[0], "a name per decade");

/* A RecommendReply being built: the messages and arrays it points into, freed together by
 * reply_parts_free. Strings point into the model or the request. */
struct reply_parts {
    uint32_t *style_of; /* k: a cluster's index among the styles */
    Mixtape__Reco__Style *styles, **style_ptrs;
    Mixtape__Reco__ClusterShare *shares, **share_ptrs;
    Mixtape__Reco__Pick *picks, **pick_ptrs;
    char ***artist_lists;
    size_t n_picks;
    Mixtape__Reco__DecadeMatch decades[RECO_DECADES], *decade_ptrs[RECO_DECADES];
    Mixtape__Reco__MatchStats stats;
};

/* The styles (result's clusters, most saved first) with their names and shares, and the
 * ClusterShares older clients read. */
static void add_styles(struct reply_parts *parts, const struct model *model,
                       struct reco_result *result)
{
    qsort(result->clusters, result->n_clusters, sizeof *result->clusters, compare_shares);
    parts->style_of = xcalloc(model->k, sizeof *parts->style_of);
    parts->styles = xcalloc(result->n_clusters, sizeof *parts->styles);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
    parts->style_ptrs = xcalloc(result->n_clusters, sizeof *parts->style_ptrs);
    parts->shares = xcalloc(result->n_clusters, sizeof *parts->shares);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
    parts->share_ptrs = xcalloc(result->n_clusters, sizeof *parts->share_ptrs);
    for (uint32_t c = 0; c < result->n_clusters; c++) {
        const struct reco_cluster_share *share = &result->clusters[c];
        char *name = text(model_cluster_name(model, share->cluster));
        Mixtape__Reco__Style *st = &parts->styles[c];
        mixtape__reco__style__init(st);
        st->name = name;
        st->has_library_share = st->has_playlist_share = 1;
        st->library_share = share->library_share;
        st->playlist_share = share->playlist_share;
        st->has_cluster = st->has_saved = st->has_slots = 1;
        st->cluster = share->cluster;
        st->saved = share->saved;
        st->slots = share->slots;
        st->has_exhausted = share->exhausted;
        st->exhausted = share->exhausted;
        parts->style_ptrs[c] = st;
        parts->style_of[share->cluster] = c;
        Mixtape__Reco__ClusterShare *old = &parts->shares[c];
        mixtape__reco__cluster_share__init(old);
        old->cluster = share->cluster;
        old->saved = share->saved;
        old->slots = share->slots;
        old->label = name;
        parts->share_ptrs[c] = old;
    }
}

/* One pick: the song from the model, its style (add_styles first) and reason, and the saved
 * track it is closest to. */
static void fill_pick(struct reply_parts *parts, const struct model *model,
                      const struct recommend_call *call, const struct reco_pick *rp, size_t i)
{
    Mixtape__Reco__Pick *p = &parts->picks[i];
    mixtape__reco__pick__init(p);
    p->id = text(model_row_id(model, rp->row));
    p->name = text(model_row_name(model, rp->row));
    const char *artists = model_row_artists(model, rp->row);
    size_t n_artists = 0;
    for (const char *a = artists; *a; a += strlen(a) + 1)
        n_artists++;
    parts->artist_lists[i] = xcalloc(n_artists, sizeof *parts->artist_lists[i]);
    n_artists = 0;
    for (const char *a = artists; *a; a += strlen(a) + 1)
        parts->artist_lists[i][n_artists++] = text(a);
    p->artists = parts->artist_lists[i];
    p->n_artists = n_artists;
    uint16_t year = model_row_year(model, rp->row);
    p->has_year = year > 0;
    p->year = year;
    p->score = rp->score;
    p->cluster = rp->cluster;
    p->style = text(model_cluster_name(model, rp->cluster));
    p->has_style_index = 1;
    p->style_index = parts->style_of[rp->cluster];
    p->has_reason = 1;
    p->reason = reason_of(rp->reason);
    if (rp->because >= 0) {
        const struct reco_saved *s = &call->saved[rp->because];
        p->has_because = 1;
        p->because = rp->because;
        const char *because_name = s->name;
        if ((!because_name || !because_name[0]) && s->id) {
            uint32_t row = model_find_id(model, s->id);
            if (row != MODEL_NO_ROW)
                because_name = model_row_name(model, row);
        }
        p->because_name = text(because_name);
    }
    uint8_t popularity = model_row_popularity(model, rp->row);
    p->has_popularity = popularity != 255;
    p->popularity = popularity;
    p->has_duration_ms = 1;
    p->duration_ms = model_row_duration_ms(model, rp->row);
    const char *isrc = model_row_isrc(model, rp->row);
    if (isrc[0])
        p->isrc = text(isrc);
    parts->pick_ptrs[i] = p;
}

/* The match statistics, with the decades that have saved tracks. */
static void add_stats(struct reply_parts *parts, const struct reco_stats *rs)
{
    Mixtape__Reco__MatchStats *stats = &parts->stats;
    mixtape__reco__match_stats__init(stats);
    stats->saved = rs->saved;
    stats->by_id = rs->by_id;
    stats->by_isrc = rs->by_isrc;
    stats->by_title = rs->by_title;
    stats->by_features = rs->by_features;
    stats->unmatched = rs->unmatched;
    stats->has_by_artist = 1;
    stats->by_artist = rs->by_artist;
    stats->by_decade = parts->decade_ptrs;
    for (uint32_t d = 0; d < RECO_DECADES; d++) {
        if (rs->decade_saved[d] == 0)
            continue;
        Mixtape__Reco__DecadeMatch *dm = &parts->decades[stats->n_by_decade];
        mixtape__reco__decade_match__init(dm);
        dm->decade = text(decades[d].name);
        dm->has_year_from = decades[d].from != 0;
        dm->year_from = decades[d].from;
        dm->has_year_to = decades[d].to != 0;
        dm->year_to = decades[d].to;
        dm->has_saved = dm->has_songs = dm->has_artists_only = 1;
        dm->saved = rs->decade_saved[d];
        dm->songs = rs->decade_song[d];
        dm->artists_only = rs->decade_artist[d];
        parts->decade_ptrs[stats->n_by_decade++] = dm;
    }
}

static void reply_parts_free(struct reply_parts *parts)
{
    for (size_t i = 0; i < parts->n_picks; i++)
        free(parts->artist_lists[i]);
    free(parts->artist_lists);
    free(parts->picks);
    free(parts->pick_ptrs);
    free(parts->style_of);
    free(parts->styles);
    free(parts->style_ptrs);
    free(parts->shares);
    free(parts->share_ptrs);
}

static void do_recommend(const uint8_t *payload, size_t len, const struct model *model,
                         const struct handler_limits *limits, const struct handler_state *state,
                         struct handler_outcome *out)
{
    struct recommend_call call;
    out->code =
        recommend_call_decode(payload, len, limits, &call, out->message, sizeof out->message);
    if (out->code != RPC_OK)
        return;
    out->saved = (uint32_t)call.n_saved;
    struct reco_result result;
    enum reco_status status =
        recommend_indexed(model, state->artist_index, call.saved, call.n_saved, &call.options,
                          &result, out->message, sizeof out->message);
    out->code = code_of(status);
    if (status != RECO_OK) {
        recommend_call_free(&call);
        return;
    }
    out->has_stats = true;
    out->stats = result.stats;
    struct reply_parts parts = {.n_picks = result.n_picks};
    add_styles(&parts, model, &result);
    parts.picks = xcalloc(result.n_picks, sizeof *parts.picks);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
    parts.pick_ptrs = xcalloc(result.n_picks, sizeof *parts.pick_ptrs);
    parts.artist_lists = xcalloc(result.n_picks, sizeof *parts.artist_lists);
    for (uint32_t i = 0; i < result.n_picks; i++)
        fill_pick(&parts, model, &call, &result.picks[i], i);
    add_stats(&parts, &result.stats);
    Mixtape__Reco__RecommendReply reply = MIXTAPE__RECO__RECOMMEND_REPLY__INIT;
    reply.picks = parts.pick_ptrs;
    reply.n_picks = result.n_picks;
    reply.stats = &parts.stats;
    reply.clusters = parts.share_ptrs;
    reply.n_clusters = result.n_clusters;
    reply.model_version = text(model->version);
    reply.styles = parts.style_ptrs;
    reply.n_styles = result.n_clusters;
    if (result.short_reason[0])
        reply.short_reason = result.short_reason;
    pack_reply(&reply.base, out);
    reply_parts_free(&parts);
    reco_result_free(&result);
    recommend_call_free(&call);
}

static void do_info(const uint8_t *payload, size_t len, const struct model *model,
                    struct handler_outcome *out)
{
    Mixtape__Reco__InfoRequest *req = mixtape__reco__info_request__unpack(NULL, len, payload);
    if (!req) {
        out->code = RPC_INVALID_ARGUMENT;
        errbuf_set(out->message, sizeof out->message,
                   "payload: %zu bytes are not a mixtape.reco.InfoRequest", len);
        return;
    }
    mixtape__reco__info_request__free_unpacked(req, NULL);
    char *features[FEAT_COUNT];
    for (uint32_t f = 0; f < model->n_features && f < FEAT_COUNT; f++)
        features[f] = text(model_feature_name(model->features[f]));
    Mixtape__Reco__InfoReply reply = MIXTAPE__RECO__INFO_REPLY__INIT;
    reply.model_version = text(model->version);
    reply.tracks = model->n_rows;
    reply.features = features;
    reply.n_features = model->n_features < FEAT_COUNT ? model->n_features : FEAT_COUNT;
    reply.k = model->k;
    reply.source = text(model->source);
    reply.has_built_unix = 1;
    reply.built_unix = model->built_unix;
    reply.has_ids = 1;
    reply.ids = model->n_ids;
    Mixtape__Reco__StyleInfo *styles = xcalloc(model->k, sizeof *styles);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
    Mixtape__Reco__StyleInfo **style_ptrs = xcalloc(model->k, sizeof *style_ptrs);
    for (uint32_t c = 0; c < model->k; c++) {
        mixtape__reco__style_info__init(&styles[c]);
        styles[c].name = text(model_cluster_name(model, c));
        styles[c].has_size = 1;
        styles[c].size = model_cluster_size(model, c);
        style_ptrs[c] = &styles[c];
    }
    reply.styles = style_ptrs;
    reply.n_styles = model->k;
    pack_reply(&reply.base, out);
    free(styles);
    free(style_ptrs);
    out->code = RPC_OK;
}

static void do_health(const uint8_t *payload, size_t len, const struct model *model,
                      const struct handler_state *state, struct handler_outcome *out)
{
    Mixtape__Reco__HealthRequest *req = mixtape__reco__health_request__unpack(NULL, len, payload);
    if (!req) {
        out->code = RPC_INVALID_ARGUMENT;
        errbuf_set(out->message, sizeof out->message,
                   "payload: %zu bytes are not a mixtape.reco.HealthRequest", len);
        return;
    }
    mixtape__reco__health_request__free_unpacked(req, NULL);
    Mixtape__Reco__HealthReply reply = MIXTAPE__RECO__HEALTH_REPLY__INIT;
    reply.serving = state->serving;
    reply.has_uptime_ms = 1;
    reply.uptime_ms = state->uptime_ms;
    reply.has_requests = 1;
    reply.requests = state->requests;
    reply.model_version = text(model->version);
    pack_reply(&reply.base, out);
    out->code = RPC_OK;
}

/* method cut to 64 bytes with control characters, quotes and backslashes as \xNN, for a
 * message that callers may log or show. */
static void quote_method(const char *method, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0;
    for (size_t i = 0; method[i] && i < 64 && used + 5 < out_len; i++) {
        unsigned char c = (unsigned char)method[i];
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '\\') {
            out[used++] = '\\';
            out[used++] = 'x';
            out[used++] = hex[c >> 4];
            out[used++] = hex[c & 15];
        } else {
            out[used++] = (char)c;
        }
    }
    out[used] = '\0';
}

void handle_method(const char *method, const uint8_t *payload, size_t len,
                   const struct model *model, const struct handler_limits *limits,
                   const struct handler_state *state, struct handler_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(method, "Recommend") == 0) {
        do_recommend(payload, len, model, limits, state, out);
    } else if (strcmp(method, "Info") == 0) {
        do_info(payload, len, model, out);
    } else if (strcmp(method, "Health") == 0) {
        do_health(payload, len, model, state, out);
    } else {
        char quoted[64 * 4 + 1];
        quote_method(method, quoted, sizeof quoted);
        out->code = RPC_UNIMPLEMENTED;
        errbuf_set(out->message, sizeof out->message,
                   "method: '%s' is not a reco-service method (Recommend, Info, Health)", quoted);
    }
}

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
    /* Larger rankings go through: recommend() knows which exist. */
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

static void do_recommend(const uint8_t *payload, size_t len, const struct model *model,
                         const struct handler_limits *limits, struct handler_outcome *out)
{
    struct recommend_call call;
    out->code =
        recommend_call_decode(payload, len, limits, &call, out->message, sizeof out->message);
    if (out->code != RPC_OK)
        return;
    out->saved = (uint32_t)call.n_saved;
    struct reco_result result;
    enum reco_status status = recommend(model, call.saved, call.n_saved, &call.options, &result,
                                        out->message, sizeof out->message);
    out->code = code_of(status);
    if (status != RECO_OK) {
        recommend_call_free(&call);
        return;
    }
    Mixtape__Reco__Pick *picks = xcalloc(result.n_picks, sizeof *picks);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as protobuf-c wants */
    Mixtape__Reco__Pick **pick_ptrs = xcalloc(result.n_picks, sizeof *pick_ptrs);
    char ***artist_lists = xcalloc(result.n_picks, sizeof *artist_lists);
    Mixtape__Reco__ClusterShare *shares = xcalloc(result.n_clusters, sizeof *shares);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, as protobuf-c wants */
    Mixtape__Reco__ClusterShare **share_ptrs = xcalloc(result.n_clusters, sizeof *share_ptrs);
    for (uint32_t i = 0; i < result.n_picks; i++) {
        const struct reco_pick *rp = &result.picks[i];
        Mixtape__Reco__Pick *p = &picks[i];
        mixtape__reco__pick__init(p);
        p->id = text(model_row_id(model, rp->row));
        p->name = text(model_row_name(model, rp->row));
        const char *artists = model_row_artists(model, rp->row);
        size_t n_artists = 0;
        for (const char *a = artists; *a; a += strlen(a) + 1)
            n_artists++;
        artist_lists[i] = xcalloc(n_artists, sizeof *artist_lists[i]);
        n_artists = 0;
        for (const char *a = artists; *a; a += strlen(a) + 1)
            artist_lists[i][n_artists++] = text(a);
        p->artists = artist_lists[i];
        p->n_artists = n_artists;
        uint16_t year = model_row_year(model, rp->row);
        p->has_year = year > 0;
        p->year = year;
        p->score = rp->score;
        p->cluster = rp->cluster;
        if (rp->because >= 0) {
            const struct reco_saved *s = &call.saved[rp->because];
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
        pick_ptrs[i] = p;
    }
    for (uint32_t c = 0; c < result.n_clusters; c++) {
        mixtape__reco__cluster_share__init(&shares[c]);
        shares[c].cluster = result.clusters[c].cluster;
        shares[c].saved = result.clusters[c].saved;
        shares[c].slots = result.clusters[c].slots;
        share_ptrs[c] = &shares[c];
    }
    Mixtape__Reco__MatchStats stats = MIXTAPE__RECO__MATCH_STATS__INIT;
    stats.saved = result.stats.saved;
    stats.by_id = result.stats.by_id;
    stats.by_isrc = result.stats.by_isrc;
    stats.by_title = result.stats.by_title;
    stats.by_features = result.stats.by_features;
    stats.unmatched = result.stats.unmatched;
    Mixtape__Reco__RecommendReply reply = MIXTAPE__RECO__RECOMMEND_REPLY__INIT;
    reply.picks = pick_ptrs;
    reply.n_picks = result.n_picks;
    reply.stats = &stats;
    reply.clusters = share_ptrs;
    reply.n_clusters = result.n_clusters;
    reply.model_version = text(model->version);
    pack_reply(&reply.base, out);
    for (uint32_t i = 0; i < result.n_picks; i++)
        free(artist_lists[i]);
    free(artist_lists);
    free(picks);
    free(pick_ptrs);
    free(shares);
    free(share_ptrs);
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
    pack_reply(&reply.base, out);
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

void handle_method(const char *method, const uint8_t *payload, size_t len,
                   const struct model *model, const struct handler_limits *limits,
                   const struct handler_state *state, struct handler_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(method, "Recommend") == 0) {
        do_recommend(payload, len, model, limits, out);
    } else if (strcmp(method, "Info") == 0) {
        do_info(payload, len, model, out);
    } else if (strcmp(method, "Health") == 0) {
        do_health(payload, len, model, state, out);
    } else {
        out->code = RPC_UNIMPLEMENTED;
        errbuf_set(out->message, sizeof out->message,
                   "method: '%.64s' is not a reco-service method (Recommend, Info, Health)",
                   method);
    }
}

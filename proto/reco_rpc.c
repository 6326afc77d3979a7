/* The typed client of reco-service (reco_rpc.h): plain C structs to and from the generated
 * protobuf-c messages of reco.proto, and the three methods over rpc_call. */
#include "reco_rpc.h"

#include <stdlib.h>
#include <string.h>

#include "reco.pb-c.h"

static const struct {
    const char *name;
    Mixtape__Reco__Ranking value;
} RANKINGS[] = {
    {"default", MIXTAPE__RECO__RANKING__RANKING_DEFAULT},
    {"mean", MIXTAPE__RECO__RANKING__RANKING_MEAN_COSINE},
    {"centroid", MIXTAPE__RECO__RANKING__RANKING_CENTROID_COSINE},
    {"neighbours", MIXTAPE__RECO__RANKING__RANKING_NEAREST_NEIGHBOURS},
    {"votes", MIXTAPE__RECO__RANKING__RANKING_NEIGHBOUR_VOTES},
    {"votes-artists", MIXTAPE__RECO__RANKING__RANKING_VOTES_AND_ARTISTS},
    {"mean-artists", MIXTAPE__RECO__RANKING__RANKING_MEAN_AND_ARTISTS},
    {"flat", MIXTAPE__RECO__RANKING__RANKING_FLAT},
};

_Static_assert((int)RECO_RPC_REASON_SIMILAR_SOUND == MIXTAPE__RECO__REASON__REASON_SIMILAR_SOUND,
               "reason SIMILAR_SOUND");
_Static_assert((int)RECO_RPC_REASON_SAME_ARTIST == MIXTAPE__RECO__REASON__REASON_SAME_ARTIST,
               "reason SAME_ARTIST");
_Static_assert((int)RECO_RPC_REASON_NEW_ARTIST == MIXTAPE__RECO__REASON__REASON_NEW_ARTIST,
               "reason NEW_ARTIST");

const char *reco_rpc_reason_name(enum reco_rpc_reason reason)
{
    switch (reason) {
    case RECO_RPC_REASON_SAME_ARTIST:
        return "same_artist";
    case RECO_RPC_REASON_NEW_ARTIST:
        return "new_artist";
    case RECO_RPC_REASON_SIMILAR_SOUND:
        break;
    }
    return "similar_sound";
}

const char reco_rpc_ranking_names[] =
    "default, mean, centroid, neighbours, votes, votes-artists, mean-artists or flat";

int reco_rpc_ranking_from_name(const char *name, uint32_t *ranking)
{
    for (size_t i = 0; i < sizeof RANKINGS / sizeof RANKINGS[0]; i++)
        if (strcmp(name, RANKINGS[i].name) == 0) {
            *ranking = (uint32_t)RANKINGS[i].value;
            return 0;
        }
    return -1;
}

/* Fills *s from t; its features go to features[0..n_features) and their pointers. */
static void fill_track(const struct reco_rpc_track *t, Mixtape__Reco__SavedTrack *s,
                       Mixtape__Reco__Feature *features, Mixtape__Reco__Feature **feature_ptrs)
{
    mixtape__reco__saved_track__init(s);
    s->id = (char *)(uintptr_t)t->id;
    s->isrc = (char *)(uintptr_t)t->isrc;
    s->name = (char *)(uintptr_t)t->name;
    s->n_artists = t->n_artists;
    s->artists = (char **)(uintptr_t)t->artists;
    s->has_duration_ms = t->has_duration_ms;
    s->duration_ms = t->duration_ms;
    s->has_year = t->has_year;
    s->year = t->year;
    s->has_explicit_ = t->has_explicit;
    s->explicit_ = t->explicit_lyrics;
    for (size_t k = 0; k < t->n_features; k++) {
        mixtape__reco__feature__init(&features[k]);
        features[k].name = (char *)(uintptr_t)t->feature_names[k];
        features[k].value = t->feature_values[k];
        feature_ptrs[k] = &features[k];
    }
    s->n_features = t->n_features;
    s->features = t->n_features ? feature_ptrs : NULL;
}

int reco_rpc_pack_request(const struct reco_rpc_request *req, uint8_t **out, size_t *len)
{
    int rc = -1;
    size_t n_features = 0;
    for (size_t i = 0; i < req->n_tracks; i++)
        n_features += req->tracks[i].n_features;
    Mixtape__Reco__SavedTrack *tracks = calloc(req->n_tracks ? req->n_tracks : 1, sizeof *tracks);
    Mixtape__Reco__SavedTrack **track_ptrs =
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
        calloc(req->n_tracks ? req->n_tracks : 1, sizeof *track_ptrs);
    Mixtape__Reco__Feature *features = calloc(n_features ? n_features : 1, sizeof *features);
    Mixtape__Reco__Feature **feature_ptrs =
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as protobuf-c wants */
        calloc(n_features ? n_features : 1, sizeof *feature_ptrs);
    uint8_t *packed = NULL;
    if (!tracks || !track_ptrs || !features || !feature_ptrs)
        goto done;
    size_t used = 0;
    for (size_t i = 0; i < req->n_tracks; i++) {
        fill_track(&req->tracks[i], &tracks[i], features + used, feature_ptrs + used);
        used += req->tracks[i].n_features;
        track_ptrs[i] = &tracks[i];
    }
    Mixtape__Reco__RecommendRequest msg = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    msg.saved = track_ptrs;
    msg.n_saved = req->n_tracks;
    msg.has_n = req->has_n;
    msg.n = req->n;
    msg.has_variety = req->has_variety;
    msg.variety = req->variety;
    msg.has_max_per_artist = req->has_max_per_artist;
    msg.max_per_artist = req->max_per_artist;
    msg.has_ranking = req->has_ranking;
    msg.ranking = (Mixtape__Reco__Ranking)req->ranking;
    msg.has_discover = req->has_discover;
    msg.discover = req->discover;
    Mixtape__Reco__Target target = MIXTAPE__RECO__TARGET__INIT;
    target.has_energy = req->energy.set;
    target.energy = req->energy.value;
    target.has_valence = req->valence.set;
    target.valence = req->valence.value;
    target.has_danceability = req->danceability.set;
    target.danceability = req->danceability.value;
    target.has_tempo = req->tempo.set;
    target.tempo = req->tempo.value;
    if (target.has_energy || target.has_valence || target.has_danceability || target.has_tempo)
        msg.target = &target;
    Mixtape__Reco__Years years = MIXTAPE__RECO__YEARS__INIT;
    years.has_from = req->year_from != 0;
    years.from = req->year_from;
    years.has_to = req->year_to != 0;
    years.to = req->year_to;
    if (years.has_from || years.has_to)
        msg.years = &years;
    if (req->no_explicit) {
        msg.has_explicit_ = 1;
        msg.explicit_ = 0;
    }
    size_t size = mixtape__reco__recommend_request__get_packed_size(&msg);
    packed = malloc(size ? size : 1);
    if (!packed)
        goto done;
    mixtape__reco__recommend_request__pack(&msg, packed);
    *out = packed;
    *len = size;
    rc = 0;
done:
    free(tracks);
    free(track_ptrs);
    free(features);
    free(feature_ptrs);
    return rc;
}

struct reco_rpc_reply *reco_rpc_decode_reply(const uint8_t *bytes, size_t len)
{
    Mixtape__Reco__RecommendReply *msg = mixtape__reco__recommend_reply__unpack(NULL, len, bytes);
    if (!msg)
        return NULL;
    struct reco_rpc_reply *r = calloc(1, sizeof *r);
    if (r) {
        r->message = msg;
        r->picks = calloc(msg->n_picks ? msg->n_picks : 1, sizeof *r->picks);
        r->clusters = calloc(msg->n_clusters ? msg->n_clusters : 1, sizeof *r->clusters);
        r->styles = calloc(msg->n_styles ? msg->n_styles : 1, sizeof *r->styles);
        size_t decades = msg->stats ? msg->stats->n_by_decade : 0;
        r->decades = calloc(decades ? decades : 1, sizeof *r->decades);
    }
    if (!r || !r->picks || !r->clusters || !r->styles || !r->decades) {
        if (r)
            reco_rpc_reply_free(r);
        else
            mixtape__reco__recommend_reply__free_unpacked(msg, NULL);
        return NULL;
    }
    for (size_t i = 0; i < msg->n_picks; i++) {
        const Mixtape__Reco__Pick *p = msg->picks[i];
        r->picks[i] = (struct reco_rpc_pick){
            .id = p->id,
            .name = p->name,
            .artists = p->artists,
            .n_artists = p->n_artists,
            .has_year = p->has_year,
            .year = p->year,
            .score = p->score,
            .cluster = p->cluster,
            .has_because = p->has_because,
            .because = p->because,
            .because_name = p->because_name,
            .has_popularity = p->has_popularity,
            .popularity = p->popularity,
            .has_duration_ms = p->has_duration_ms,
            .duration_ms = p->duration_ms,
            .style = p->style,
            .isrc = p->isrc && p->isrc[0] ? p->isrc : NULL,
            /* an index past the styles sent is dropped rather than handed on */
            .has_style_index = p->has_style_index && p->style_index < msg->n_styles,
            .style_index = p->style_index,
            .reason = p->reason == MIXTAPE__RECO__REASON__REASON_SAME_ARTIST
                          ? RECO_RPC_REASON_SAME_ARTIST
                      : p->reason == MIXTAPE__RECO__REASON__REASON_NEW_ARTIST
                          ? RECO_RPC_REASON_NEW_ARTIST
                          : RECO_RPC_REASON_SIMILAR_SOUND,
        };
    }
    for (size_t i = 0; i < msg->n_styles; i++) {
        const Mixtape__Reco__Style *st = msg->styles[i];
        r->styles[i] = (struct reco_rpc_style){.name = st->name ? st->name : "",
                                               .library_share = st->library_share,
                                               .playlist_share = st->playlist_share,
                                               .cluster = st->cluster,
                                               .saved = st->saved,
                                               .slots = st->slots,
                                               .exhausted = st->has_exhausted && st->exhausted};
    }
    r->n_styles = msg->n_styles;
    r->short_reason = msg->short_reason && msg->short_reason[0] ? msg->short_reason : NULL;
    r->n_picks = msg->n_picks;
    for (size_t i = 0; i < msg->n_clusters; i++) {
        const Mixtape__Reco__ClusterShare *c = msg->clusters[i];
        r->clusters[i] = (struct reco_rpc_cluster){
            .cluster = c->cluster, .saved = c->saved, .slots = c->slots, .label = c->label};
    }
    r->n_clusters = msg->n_clusters;
    const Mixtape__Reco__MatchStats *s = msg->stats; /* required: unpack refuses a reply without */
    if (s)
        r->stats = (struct reco_rpc_stats){.saved = s->saved,
                                           .by_id = s->by_id,
                                           .by_isrc = s->by_isrc,
                                           .by_title = s->by_title,
                                           .by_features = s->by_features,
                                           .unmatched = s->unmatched,
                                           .by_artist = s->by_artist,
                                           .by_decade = r->decades,
                                           .n_by_decade = s->n_by_decade};
    for (size_t i = 0; s && i < s->n_by_decade; i++) {
        const Mixtape__Reco__DecadeMatch *d = s->by_decade[i];
        r->decades[i] = (struct reco_rpc_decade){.decade = d->decade ? d->decade : "",
                                                 .year_from = d->has_year_from ? d->year_from : 0,
                                                 .year_to = d->has_year_to ? d->year_to : 0,
                                                 .saved = d->saved,
                                                 .songs = d->songs,
                                                 .artists_only = d->artists_only};
    }
    r->model_version = msg->model_version;
    return r;
}

void reco_rpc_reply_free(struct reco_rpc_reply *reply)
{
    if (!reply)
        return;
    if (reply->message)
        mixtape__reco__recommend_reply__free_unpacked(reply->message, NULL);
    free(reply->picks);
    free(reply->clusters);
    free(reply->styles);
    free(reply->decades);
    free(reply);
}

enum rpc_code reco_rpc_recommend_packed(struct rpc_client *rpc, const uint8_t *request,
                                        size_t request_len, uint32_t timeout_ms,
                                        struct reco_rpc_reply **out, char **message,
                                        uint64_t *request_id)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    *out = NULL;
    enum rpc_code code = rpc_call(rpc, "Recommend", request, request_len, timeout_ms, &reply,
                                  &reply_len, message, request_id);
    if (code == RPC_OK)
        *out = reco_rpc_decode_reply(reply, reply_len);
    free(reply);
    return code;
}

enum rpc_code reco_rpc_recommend(struct rpc_client *rpc, const struct reco_rpc_request *req,
                                 uint32_t timeout_ms, struct reco_rpc_reply **out, char **message,
                                 uint64_t *request_id)
{
    uint8_t *request = NULL;
    size_t len = 0;
    *out = NULL;
    if (message)
        *message = NULL;
    if (reco_rpc_pack_request(req, &request, &len) != 0)
        return RPC_INTERNAL;
    enum rpc_code code =
        reco_rpc_recommend_packed(rpc, request, len, timeout_ms, out, message, request_id);
    free(request);
    return code;
}

enum rpc_code reco_rpc_info(struct rpc_client *rpc, uint32_t timeout_ms, struct reco_rpc_info **out,
                            char **message)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    *out = NULL;
    enum rpc_code code = rpc_call(rpc, "Info", NULL, 0, timeout_ms, &bytes, &len, message, NULL);
    Mixtape__Reco__InfoReply *msg =
        code == RPC_OK ? mixtape__reco__info_reply__unpack(NULL, len, bytes) : NULL;
    free(bytes);
    if (!msg)
        return code;
    struct reco_rpc_info *info = calloc(1, sizeof *info);
    struct reco_rpc_style_info *styles = calloc(msg->n_styles ? msg->n_styles : 1, sizeof *styles);
    if (!info || !styles) {
        free(info);
        free(styles);
        mixtape__reco__info_reply__free_unpacked(msg, NULL);
        return code;
    }
    for (size_t i = 0; i < msg->n_styles; i++)
        styles[i] = (struct reco_rpc_style_info){
            .name = msg->styles[i]->name ? msg->styles[i]->name : "", .size = msg->styles[i]->size};
    *info = (struct reco_rpc_info){.model_version = msg->model_version,
                                   .tracks = msg->tracks,
                                   .k = msg->k,
                                   .ids = msg->ids,
                                   .features = msg->features,
                                   .n_features = msg->n_features,
                                   .source = msg->source,
                                   .built_unix = msg->built_unix,
                                   .styles = styles,
                                   .n_styles = msg->n_styles,
                                   .message = msg};
    *out = info;
    return code;
}

void reco_rpc_info_free(struct reco_rpc_info *info)
{
    if (!info)
        return;
    mixtape__reco__info_reply__free_unpacked(info->message, NULL);
    free(info->styles);
    free(info);
}

enum rpc_code reco_rpc_health(struct rpc_client *rpc, uint32_t timeout_ms,
                              struct reco_rpc_health **out, char **message)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    *out = NULL;
    enum rpc_code code = rpc_call(rpc, "Health", NULL, 0, timeout_ms, &bytes, &len, message, NULL);
    Mixtape__Reco__HealthReply *msg =
        code == RPC_OK ? mixtape__reco__health_reply__unpack(NULL, len, bytes) : NULL;
    free(bytes);
    if (!msg)
        return code;
    struct reco_rpc_health *health = calloc(1, sizeof *health);
    if (!health) {
        mixtape__reco__health_reply__free_unpacked(msg, NULL);
        return code;
    }
    *health = (struct reco_rpc_health){.serving = msg->serving,
                                       .uptime_ms = msg->uptime_ms,
                                       .requests = msg->requests,
                                       .model_version = msg->model_version,
                                       .message = msg};
    *out = health;
    return code;
}

void reco_rpc_health_free(struct reco_rpc_health *health)
{
    if (!health)
        return;
    mixtape__reco__health_reply__free_unpacked(health->message, NULL);
    free(health);
}

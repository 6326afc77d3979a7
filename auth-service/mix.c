/* From saved tracks to a playlist through reco-service: see mix.h. */
#include "mix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "reco.pb-c.h"

const char *mix_strerror(enum mix_status status)
{
    switch (status) {
    case MIX_OK:
        return "ok";
    case MIX_ERR_EMPTY_LIBRARY:
        return "your Liked Songs are empty";
    case MIX_ERR_NOTHING_MATCHED:
        return "none of your saved tracks is in this server's catalog";
    case MIX_ERR_UNAVAILABLE:
        return "the playlist service is unavailable";
    case MIX_ERR_REJECTED:
        return "the playlist service refused the request";
    case MIX_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown mix status";
}

enum mix_status mix_build_request(const struct saved_library *lib, const struct mix_params *p,
                                  uint8_t **out, size_t *len)
{
    if (lib->count == 0)
        return MIX_ERR_EMPTY_LIBRARY;
    enum mix_status status = MIX_ERR_INTERNAL;
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    Mixtape__Reco__SavedTrack *tracks = calloc(lib->count, sizeof *tracks);
    Mixtape__Reco__SavedTrack **track_ptrs = calloc(lib->count, sizeof *track_ptrs);
    Mixtape__Reco__Feature *features = calloc(lib->count * SPOTIFY_N_FEATURES, sizeof *features);
    Mixtape__Reco__Feature **feature_ptrs =
        calloc(lib->count * SPOTIFY_N_FEATURES, sizeof *feature_ptrs);
    uint8_t *packed = NULL;
    if (!tracks || !track_ptrs || !features || !feature_ptrs)
        goto done;
    for (size_t i = 0; i < lib->count; i++) {
        const struct saved_track *t = &lib->tracks[i];
        Mixtape__Reco__SavedTrack *s = &tracks[i];
        mixtape__reco__saved_track__init(s);
        if (t->id[0])
            s->id = (char *)(uintptr_t)t->id;
        if (t->isrc[0])
            s->isrc = (char *)(uintptr_t)t->isrc;
        s->name = t->name;
        s->n_artists = t->n_artists;
        s->artists = (char **)(uintptr_t)t->artists;
        if (t->duration_ms) {
            s->has_duration_ms = 1;
            s->duration_ms = t->duration_ms;
        }
        if (t->year) {
            s->has_year = 1;
            s->year = t->year;
        }
        s->has_explicit_ = 1;
        s->explicit_ = t->explicit_lyrics;
        if (t->has_features) {
            Mixtape__Reco__Feature **f = &feature_ptrs[i * SPOTIFY_N_FEATURES];
            for (int k = 0; k < SPOTIFY_N_FEATURES; k++) {
                Mixtape__Reco__Feature *one = &features[i * SPOTIFY_N_FEATURES + (size_t)k];
                mixtape__reco__feature__init(one);
                one->name = (char *)(uintptr_t)spotify_feature_names[k];
                one->value = t->features[k];
                f[k] = one;
            }
            s->n_features = SPOTIFY_N_FEATURES;
            s->features = f;
        }
        track_ptrs[i] = s;
    }
    req.n_saved = lib->count;
    req.saved = track_ptrs;
    req.has_n = 1;
    req.n = p->n ? p->n : 50;
    req.has_variety = 1;
    req.variety = p->variety;
    size_t size = mixtape__reco__recommend_request__get_packed_size(&req);
    packed = malloc(size ? size : 1);
    if (!packed)
        goto done;
    mixtape__reco__recommend_request__pack(&req, packed);
    *out = packed;
    *len = size;
    packed = NULL;
    status = MIX_OK;
done:
    free(packed);
    free(tracks);
    free(track_ptrs);
    free(features);
    free(feature_ptrs);
    return status;
}

static char *join_artists(char **artists, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(artists[i]) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, artists[i]);
    }
    return out;
}

static uint32_t elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((now.tv_sec - start->tv_sec) * 1000 +
                      (now.tv_nsec - start->tv_nsec) / 1000000);
}

static enum mix_status take_reply(const Mixtape__Reco__RecommendReply *reply,
                                  struct mix_result *out)
{
    struct mix_result r = {0};
    r.picks = calloc(reply->n_picks ? reply->n_picks : 1, sizeof *r.picks);
    r.clusters = calloc(reply->n_clusters ? reply->n_clusters : 1, sizeof *r.clusters);
    if (!r.picks || !r.clusters) {
        mix_result_free(&r);
        return MIX_ERR_INTERNAL;
    }
    for (size_t i = 0; i < reply->n_picks; i++) {
        const Mixtape__Reco__Pick *p = reply->picks[i];
        struct mix_pick *m = &r.picks[r.n_picks];
        snprintf(m->id, sizeof m->id, "%s", p->id);
        m->name = strdup(p->name);
        m->artists = join_artists(p->artists, p->n_artists);
        m->year = p->has_year ? p->year : 0;
        m->score = p->score;
        m->cluster = p->cluster;
        m->because = p->because_name ? strdup(p->because_name) : NULL;
        r.n_picks++;
        if (!m->name || !m->artists) {
            mix_result_free(&r);
            return MIX_ERR_INTERNAL;
        }
    }
    for (size_t i = 0; i < reply->n_clusters; i++) {
        const Mixtape__Reco__ClusterShare *c = reply->clusters[i];
        struct mix_cluster *m = &r.clusters[r.n_clusters++];
        m->cluster = c->cluster;
        m->saved = c->saved;
        m->slots = c->slots;
        snprintf(m->label, sizeof m->label, "%s", c->label ? c->label : "");
    }
    if (reply->stats) {
        r.stats.saved = reply->stats->saved;
        r.stats.by_id = reply->stats->by_id;
        r.stats.by_isrc = reply->stats->by_isrc;
        r.stats.by_title = reply->stats->by_title;
        r.stats.by_features = reply->stats->by_features;
        r.stats.unmatched = reply->stats->unmatched;
    }
    snprintf(r.model_version, sizeof r.model_version, "%s",
             reply->model_version ? reply->model_version : "");
    *out = r;
    return MIX_OK;
}

enum mix_status mix_run(struct rpc_client *rpc, uint32_t timeout_ms,
                        const struct saved_library *lib, const struct mix_params *p,
                        struct mix_result *out, struct mix_call *call, char *err, size_t err_len)
{
    struct mix_call ignored;
    if (!call)
        call = &ignored;
    *call = (struct mix_call){.code = RPC_OK, .called = false};
    uint8_t *request = NULL, *reply_bytes = NULL;
    size_t request_len = 0, reply_len = 0;
    char *message = NULL;
    uint64_t request_id = 0;
    Mixtape__Reco__RecommendReply *reply = NULL;
    enum mix_status status = mix_build_request(lib, p, &request, &request_len);
    if (status != MIX_OK) {
        snprintf(err, err_len, "%s", mix_strerror(status));
        return status;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum rpc_code code = rpc_call(rpc, "Recommend", request, request_len, timeout_ms, &reply_bytes,
                                  &reply_len, &message, &request_id);
    uint32_t took = elapsed_ms(&start);
    *call = (struct mix_call){.code = code, .seconds = took / 1000.0, .called = true};
    log_info("reco_call", "method=Recommend request_id=%llu rpc_code=%s ms=%u saved=%zu",
             (unsigned long long)request_id, rpc_code_name(code), took, lib->count);
    switch (code) {
    case RPC_OK:
        break;
    case RPC_UNAVAILABLE:
    case RPC_DEADLINE_EXCEEDED:
    case RPC_RESOURCE_EXHAUSTED:
        status = MIX_ERR_UNAVAILABLE;
        snprintf(err, err_len,
                 "The playlist service is not answering right now (%s). Try again in a minute.",
                 rpc_code_name(code));
        goto done;
    case RPC_FAILED_PRECONDITION:
    case RPC_NOT_FOUND:
        status = MIX_ERR_NOTHING_MATCHED;
        snprintf(err, err_len, "%s", mix_strerror(status));
        goto done;
    default:
        status = MIX_ERR_REJECTED;
        snprintf(err, err_len, "The playlist service refused the request: %s",
                 message ? message : rpc_code_name(code));
        goto done;
    }
    reply = mixtape__reco__recommend_reply__unpack(NULL, reply_len, reply_bytes);
    if (!reply) {
        status = MIX_ERR_REJECTED;
        snprintf(err, err_len, "The playlist service sent an answer we cannot read.");
        goto done;
    }
    if (reply->n_picks == 0) {
        status = MIX_ERR_NOTHING_MATCHED;
        snprintf(err, err_len, "%s", mix_strerror(status));
        goto done;
    }
    status = take_reply(reply, out);
    if (status == MIX_OK)
        out->rpc_ms = took;
    else
        snprintf(err, err_len, "%s", mix_strerror(status));
done:
    if (reply)
        mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
    free(request);
    free(reply_bytes);
    free(message);
    return status;
}

void mix_result_free(struct mix_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_picks; i++) {
        free(r->picks[i].name);
        free(r->picks[i].artists);
        free(r->picks[i].because);
    }
    free(r->picks);
    free(r->clusters);
    memset(r, 0, sizeof *r);
}

void mix_result_to_json(const struct mix_result *r, cJSON *obj)
{
    cJSON *tracks = cJSON_AddArrayToObject(obj, "tracks");
    for (size_t i = 0; i < r->n_picks; i++) {
        const struct mix_pick *p = &r->picks[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", p->id);
        cJSON_AddStringToObject(t, "name", p->name);
        cJSON_AddStringToObject(t, "artists", p->artists);
        if (p->year)
            cJSON_AddNumberToObject(t, "year", p->year);
        else
            cJSON_AddNullToObject(t, "year");
        if (p->because)
            cJSON_AddStringToObject(t, "because", p->because);
        else
            cJSON_AddNullToObject(t, "because");
        cJSON_AddNumberToObject(t, "cluster", p->cluster);
        cJSON_AddNumberToObject(t, "score", p->score);
        cJSON_AddItemToArray(tracks, t);
    }
    cJSON *stats = cJSON_AddObjectToObject(obj, "stats");
    cJSON_AddNumberToObject(stats, "saved", r->stats.saved);
    cJSON_AddNumberToObject(stats, "matched", r->stats.saved - r->stats.unmatched);
    cJSON_AddNumberToObject(stats, "by_id", r->stats.by_id);
    cJSON_AddNumberToObject(stats, "by_isrc", r->stats.by_isrc);
    cJSON_AddNumberToObject(stats, "by_title", r->stats.by_title);
    cJSON_AddNumberToObject(stats, "by_features", r->stats.by_features);
    cJSON_AddNumberToObject(stats, "unmatched", r->stats.unmatched);
    cJSON_AddNumberToObject(stats, "rpc_ms", r->rpc_ms);
    cJSON_AddStringToObject(stats, "model_version", r->model_version);
    cJSON *clusters = cJSON_AddArrayToObject(obj, "clusters");
    for (size_t i = 0; i < r->n_clusters; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "cluster", r->clusters[i].cluster);
        cJSON_AddNumberToObject(c, "saved", r->clusters[i].saved);
        cJSON_AddNumberToObject(c, "slots", r->clusters[i].slots);
        cJSON_AddStringToObject(c, "label", r->clusters[i].label);
        cJSON_AddItemToArray(clusters, c);
    }
}

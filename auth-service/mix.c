/* The mix flow, whole (mix.h): the user's library read from Spotify (with progress streamed
 * into the mix page), the RecommendRequest built from it, the Recommend call to reco-service,
 * its answer turned into a result, the playlist saved, and every failure translated into the
 * page error a user can act on. */
#include "mix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "reco_rpc.h"
#include "request.h"
#include "signed_in.h"

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
    struct reco_rpc_track *tracks = calloc(lib->count, sizeof *tracks);
    if (!tracks)
        return MIX_ERR_INTERNAL;
    for (size_t i = 0; i < lib->count; i++) {
        const struct saved_track *t = &lib->tracks[i];
        tracks[i] = (struct reco_rpc_track){
            .id = t->id[0] ? t->id : NULL,
            .isrc = t->isrc[0] ? t->isrc : NULL,
            .name = t->name,
            .artists = t->artists,
            .n_artists = t->n_artists,
            .has_duration_ms = t->duration_ms != 0,
            .duration_ms = t->duration_ms,
            .has_year = t->year != 0,
            .year = t->year,
            .has_explicit = true,
            .explicit_lyrics = t->explicit_lyrics,
            .feature_names = spotify_feature_names,
            .feature_values = t->features,
            .n_features = t->has_features ? SPOTIFY_N_FEATURES : 0,
        };
    }
    struct reco_rpc_request req = {.tracks = tracks,
                                   .n_tracks = lib->count,
                                   .has_n = true,
                                   .n = p->n ? p->n : RECO_DEFAULT_N,
                                   .has_variety = true,
                                   .variety = p->variety};
    enum mix_status status = reco_rpc_pack_request(&req, out, len) == 0 ? MIX_OK : MIX_ERR_INTERNAL;
    free(tracks);
    return status;
}

static char *join_artists(char *const *artists, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(artists[i]) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
        size_t one = strlen(artists[i]);
        memcpy(out + used, artists[i], one);
        used += one;
    }
    out[used] = '\0';
    return out;
}

static uint32_t elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((now.tv_sec - start->tv_sec) * 1000 +
                      (now.tv_nsec - start->tv_nsec) / 1000000);
}

static enum mix_status take_reply(const struct reco_rpc_reply *reply, struct mix_result *out)
{
    struct mix_result r = {0};
    r.picks = calloc(reply->n_picks ? reply->n_picks : 1, sizeof *r.picks);
    r.clusters = calloc(reply->n_clusters ? reply->n_clusters : 1, sizeof *r.clusters);
    if (!r.picks || !r.clusters) {
        mix_result_free(&r);
        return MIX_ERR_INTERNAL;
    }
    for (size_t i = 0; i < reply->n_picks; i++) {
        const struct reco_rpc_pick *p = &reply->picks[i];
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
        const struct reco_rpc_cluster *c = &reply->clusters[i];
        struct mix_cluster *m = &r.clusters[r.n_clusters++];
        m->cluster = c->cluster;
        m->saved = c->saved;
        m->slots = c->slots;
        snprintf(m->label, sizeof m->label, "%s", c->label ? c->label : "");
    }
    r.stats = (struct mix_stats){.saved = reply->stats.saved,
                                 .by_id = reply->stats.by_id,
                                 .by_isrc = reply->stats.by_isrc,
                                 .by_title = reply->stats.by_title,
                                 .by_features = reply->stats.by_features,
                                 .unmatched = reply->stats.unmatched};
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
    uint8_t *request = NULL;
    size_t request_len = 0;
    char *message = NULL;
    uint64_t request_id = 0;
    struct reco_rpc_reply *reply = NULL;
    enum mix_status status = mix_build_request(lib, p, &request, &request_len);
    if (status != MIX_OK) {
        snprintf(err, err_len, "%s", mix_strerror(status));
        return status;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum rpc_code code = reco_rpc_recommend_packed(rpc, request, request_len, timeout_ms, &reply,
                                                   &message, &request_id);
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
    reco_rpc_reply_free(reply);
    free(request);
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

static enum page_error page_error_of_mix(enum mix_status s)
{
    switch (s) {
    case MIX_ERR_EMPTY_LIBRARY:
        return PAGE_ERR_EMPTY_LIBRARY;
    case MIX_ERR_NOTHING_MATCHED:
        return PAGE_ERR_NOTHING_MATCHED;
    case MIX_ERR_UNAVAILABLE:
        return PAGE_ERR_COMPUTE_DOWN;
    default:
        return PAGE_ERR_INTERNAL;
    }
}

void mix_job_flush(struct mix_job *job)
{
    struct html *h = job->stream;
    if (!h || h->failed || h->len == 0)
        return;
    mg_send_chunk(job->r->conn, h->bytes, (unsigned)h->len);
    h->len = 0;
}

static void begin_stream(struct mix_job *job)
{
    if (!job->stream || job->stream_started)
        return;
    struct request *r = job->r;
    if (spotify_tokens_changed(job->client))
        signed_in_store_session(r, job->session, spotify_tokens(job->client));
    snprintf(job->streamed_token, sizeof job->streamed_token, "%s",
             spotify_tokens(job->client)->access_token);
    request_send_head(r, 200, "text/html; charset=utf-8", -1, NULL);
    pages_mix_start(job->stream, job->session->display_name);
    job->stream_started = true;
    mix_job_flush(job);
}

static void on_progress(void *ctx, size_t read, size_t total)
{
    struct mix_job *job = ctx;
    if (!job->stream)
        return;
    begin_stream(job);
    size_t step = total / 8 > SPOTIFY_PAGE_LIMIT ? total / 8 : SPOTIFY_PAGE_LIMIT;
    if (read < total && read - job->last_reported < step && job->last_reported != 0)
        return;
    job->last_reported = read;
    char text[128];
    snprintf(text, sizeof text, "Read %zu of %zu saved tracks", read, total);
    pages_mix_progress(job->stream, "read", text);
    mix_job_flush(job);
}

static void progress_line(struct mix_job *job, const char *step, const char *text)
{
    if (!job->stream)
        return;
    begin_stream(job);
    pages_mix_progress(job->stream, step, text);
    mix_job_flush(job);
}

bool mix_job_save(struct mix_job *job, const char *const *ids, size_t n)
{
    const struct auth_config *cfg = job->r->app->cfg;
    enum spotify_status st = spotify_save_playlist(job->client, cfg->playlist_name,
                                                   "Made by mixtape from your Liked Songs",
                                                   cfg->public_playlists, ids, n, job->saved_id);
    if (st != SPOTIFY_OK) {
        job->error = pages_error_of_spotify(st);
        snprintf(job->detail, sizeof job->detail, "%s", spotify_last_error(job->client));
        log_warn("playlist_save_failed", "reason=\"%s\"", spotify_strerror(st));
        return false;
    }
    log_info("playlist_saved", "tracks=%zu", n);
    return true;
}

bool mix_job_run(struct mix_job *job)
{
    struct app *app = job->r->app;
    struct timespec start, read_done;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum spotify_status st = spotify_fetch_saved(job->client, &job->lib, on_progress, job);
    if (st != SPOTIFY_OK) {
        job->error = pages_error_of_spotify(st);
        snprintf(job->detail, sizeof job->detail, "%s", spotify_last_error(job->client));
        log_warn("library_read_failed", "reason=\"%s\" detail=\"%s\"", spotify_strerror(st),
                 spotify_last_error(job->client));
        return false;
    }
    clock_gettime(CLOCK_MONOTONIC, &read_done);
    log_info("library_read", "tracks=%zu total=%zu pages=%d ms=%ld", job->lib.count, job->lib.total,
             job->lib.pages,
             (long)((read_done.tv_sec - start.tv_sec) * 1000 +
                    (read_done.tv_nsec - start.tv_nsec) / 1000000));
    if (job->lib.count == 0) {
        job->error = PAGE_ERR_EMPTY_LIBRARY;
        return false;
    }
    if (atomic_load(&app->audio_features_on)) {
        st = spotify_audio_features(job->client, &job->lib);
        if (st == SPOTIFY_ERR_FORBIDDEN) {
            atomic_store(&app->audio_features_on, false);
            log_warn("audio_features_off", "reason=\"403 from /v1/audio-features\"");
        } else if (st != SPOTIFY_OK) {
            log_warn("audio_features_skipped", "reason=\"%s\"", spotify_strerror(st));
        }
    }
    char text[160];
    snprintf(text, sizeof text, "Matching %zu saved tracks against the catalog", job->lib.count);
    progress_line(job, "match", text);
    struct mix_call call;
    enum mix_status ms =
        mix_run(app->rpc, (uint32_t)app->cfg->reco_timeout_ms, &job->lib, &job->params,
                &job->result, &call, job->detail, sizeof job->detail);
    if (call.called)
        metrics_rpc("Recommend", rpc_code_name(call.code), call.seconds);
    if (ms != MIX_OK) {
        job->error = page_error_of_mix(ms);
        return false;
    }
    job->have_result = true;
    snprintf(text, sizeof text, "Ranked the catalog: %zu songs across %zu of your styles",
             job->result.n_picks, job->result.n_clusters);
    progress_line(job, "rank", text);
    if (job->save) {
        const char **ids = calloc(job->result.n_picks, sizeof *ids);
        if (!ids) {
            job->error = PAGE_ERR_INTERNAL;
            return false;
        }
        for (size_t i = 0; i < job->result.n_picks; i++)
            ids[i] = job->result.picks[i].id;
        bool saved = mix_job_save(job, ids, job->result.n_picks);
        free(ids);
        if (!saved)
            return false;
    }
    return true;
}

void mix_job_free(struct mix_job *job)
{
    mix_result_free(&job->result);
    spotify_library_free(&job->lib);
}

/* The mix flow, whole (mix.h): the user's library read from Spotify (with progress streamed
 * into the mix page), the RecommendRequest built from it, the Recommend call to reco-service,
 * its answer turned into a result, the playlist saved, and every failure translated into the
 * page error a user can act on. */
#include "mix.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "log.h"
#include "base64url.h"
#include "metrics.h"
#include "mix_cache.h"
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
    case MIX_ERR_INVALID:
        return "the playlist service cannot honour a value of the request";
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
                                   .variety = p->variety,
                                   .has_max_per_artist = p->max_per_artist != 0,
                                   .max_per_artist = p->max_per_artist,
                                   .has_discover = p->has_discover,
                                   .discover = p->discover,
                                   .energy = p->energy,
                                   .valence = p->valence,
                                   .danceability = p->danceability,
                                   .tempo = p->tempo,
                                   .year_from = p->year_from,
                                   .year_to = p->year_to,
                                   .no_explicit = p->no_explicit};
    enum mix_status status = reco_rpc_pack_request(&req, out, len) == 0 ? MIX_OK : MIX_ERR_INTERNAL;
    free(tracks);
    return status;
}

void mix_isrc_copy(const char *in, char out[13])
{
    char code[13];
    size_t n = 0;
    out[0] = '\0';
    for (const char *c = in; c && *c; c++) {
        if (*c == '-' || *c == ' ')
            continue;
        if (n == 12 || !isalnum((unsigned char)*c))
            return;
        code[n++] = (char)toupper((unsigned char)*c);
    }
    if (n == 12) {
        code[n] = '\0';
        memcpy(out, code, sizeof code);
    }
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

static enum mix_status take_reply(const struct reco_rpc_reply *reply,
                                  const struct saved_library *lib, struct mix_result *out)
{
    struct mix_result r = {0};
    r.picks = calloc(reply->n_picks ? reply->n_picks : 1, sizeof *r.picks);
    r.clusters = calloc(reply->n_clusters ? reply->n_clusters : 1, sizeof *r.clusters);
    r.styles = calloc(reply->n_styles ? reply->n_styles : 1, sizeof *r.styles);
    if (!r.picks || !r.clusters || !r.styles) {
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
        if (m->because && p->has_because && p->because >= 0 && (size_t)p->because < lib->count &&
            lib->tracks[p->because].n_artists > 0)
            m->because_artist = strdup(lib->tracks[p->because].artists[0]);
        m->style = strdup(p->style ? p->style : "");
        m->reason = p->reason;
        mix_isrc_copy(p->isrc, m->isrc);
        r.n_picks++;
        if (!m->name || !m->artists || !m->style) {
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
    for (size_t i = 0; i < reply->n_styles; i++) {
        const struct reco_rpc_style *st = &reply->styles[i];
        struct mix_style *m = &r.styles[r.n_styles++];
        m->name = strdup(st->name);
        m->library_share = st->library_share;
        m->playlist_share = st->playlist_share;
        m->exhausted = st->exhausted;
        if (!m->name) {
            mix_result_free(&r);
            return MIX_ERR_INTERNAL;
        }
    }
    const struct reco_rpc_stats *s = &reply->stats;
    r.stats = (struct mix_stats){.saved = s->saved,
                                 .by_id = s->by_id,
                                 .by_isrc = s->by_isrc,
                                 .by_title = s->by_title,
                                 .by_features = s->by_features,
                                 .unmatched = s->unmatched,
                                 .by_artist = s->by_artist};
    for (size_t i = 0; i < s->n_by_decade && r.stats.n_by_decade < 12; i++) {
        struct mix_decade *d = &r.stats.by_decade[r.stats.n_by_decade++];
        snprintf(d->decade, sizeof d->decade, "%s", s->by_decade[i].decade);
        d->saved = s->by_decade[i].saved;
        d->songs = s->by_decade[i].songs;
        d->artists_only = s->by_decade[i].artists_only;
    }
    snprintf(r.short_reason, sizeof r.short_reason, "%s",
             reply->short_reason ? reply->short_reason : "");
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
        snprintf(err, err_len, "%s",
                 code == RPC_DEADLINE_EXCEEDED
                     ? "The playlist service took too long to answer. Try again in a minute."
                     : "The playlist service is busy or not running. Try again in a minute.");
        goto done;
    case RPC_FAILED_PRECONDITION:
    case RPC_NOT_FOUND:
        /* No saved track matched a song or even an artist of the catalog. */
        metrics_match(0, 0, lib->count);
        status = MIX_ERR_NOTHING_MATCHED;
        snprintf(err, err_len, "%s", mix_strerror(status));
        goto done;
    case RPC_INVALID_ARGUMENT:
        /* Its message names the field first ("target.energy: the model has no ..."). */
        if (message && strchr(message, ':')) {
            status = MIX_ERR_INVALID;
            snprintf(err, err_len, "%s", message);
            goto done;
        }
        /* fall through */
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
    const struct reco_rpc_stats *s = &reply->stats;
    metrics_match(s->saved - s->unmatched - s->by_artist, s->by_artist, s->unmatched);
    if (reply->n_picks == 0 && !reply->short_reason) {
        status = MIX_ERR_NOTHING_MATCHED;
        snprintf(err, err_len, "%s", mix_strerror(status));
        goto done;
    }
    status = take_reply(reply, lib, out);
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
        free(r->picks[i].because_artist);
        free(r->picks[i].style);
    }
    for (size_t i = 0; i < r->n_styles; i++)
        free(r->styles[i].name);
    free(r->picks);
    free(r->clusters);
    free(r->styles);
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
        if (p->because_artist)
            cJSON_AddStringToObject(t, "because_artist", p->because_artist);
        cJSON_AddNumberToObject(t, "cluster", p->cluster);
        cJSON_AddStringToObject(t, "style", p->style);
        cJSON_AddStringToObject(t, "reason", reco_rpc_reason_name(p->reason));
        cJSON_AddNumberToObject(t, "score", p->score);
        if (p->isrc[0])
            cJSON_AddStringToObject(t, "isrc", p->isrc);
        else
            cJSON_AddNullToObject(t, "isrc");
        cJSON_AddItemToArray(tracks, t);
    }
    cJSON *styles = cJSON_AddArrayToObject(obj, "styles");
    for (size_t i = 0; i < r->n_styles; i++) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "name", r->styles[i].name);
        cJSON_AddNumberToObject(st, "library_share", round(r->styles[i].library_share * 1e4) / 1e4);
        cJSON_AddNumberToObject(st, "playlist_share",
                                round(r->styles[i].playlist_share * 1e4) / 1e4);
        cJSON_AddBoolToObject(st, "exhausted", r->styles[i].exhausted);
        cJSON_AddItemToArray(styles, st);
    }
    const struct mix_stats *s = &r->stats;
    cJSON *match = cJSON_AddObjectToObject(obj, "match");
    cJSON_AddNumberToObject(match, "saved", s->saved);
    cJSON_AddNumberToObject(match, "songs", s->saved - s->unmatched - s->by_artist);
    cJSON_AddNumberToObject(match, "artists_only", s->by_artist);
    cJSON_AddNumberToObject(match, "unmatched", s->unmatched);
    cJSON *decades = cJSON_AddArrayToObject(match, "by_decade");
    for (size_t i = 0; i < s->n_by_decade; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "decade", s->by_decade[i].decade);
        cJSON_AddNumberToObject(d, "saved", s->by_decade[i].saved);
        cJSON_AddNumberToObject(d, "songs", s->by_decade[i].songs);
        cJSON_AddNumberToObject(d, "artists_only", s->by_decade[i].artists_only);
        cJSON_AddItemToArray(decades, d);
    }
    if (r->short_reason[0])
        cJSON_AddStringToObject(obj, "short_reason", r->short_reason);
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
    if (!h || html_failed(h) || h->text.len == 0)
        return;
    mg_send_chunk(job->r->conn, h->text.bytes, (unsigned)h->text.len);
    html_clear(h);
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
    pages_mix_progress(job->stream, "read", text, read, total);
    mix_job_flush(job);
}

static void progress_line(struct mix_job *job, const char *step, const char *text)
{
    if (!job->stream)
        return;
    begin_stream(job);
    pages_mix_progress(job->stream, step, text, 0, 0);
    mix_job_flush(job);
}

/* The cache key of the job's session in this browser: the mix id comes from the MIX_COOKIE
 * cookie, or is made (16 random bytes) and set with the answer's headers. */
static void job_key(struct mix_job *job, uint8_t key[32])
{
    if (!job->browser_id[0]) {
        char id[40] = "";
        int n = request_read_cookie(job->r, MIX_COOKIE, id, sizeof id);
        if (n == 22 &&
            strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 22) {
            memcpy(job->browser_id, id, 23);
        } else {
            uint8_t raw[16];
            if (RAND_bytes(raw, sizeof raw) != 1)
                memset(raw, 0, sizeof raw); /* then one shared id: still keyed by the session */
            base64url_encode(raw, sizeof raw, job->browser_id);
            request_add_cookie(job->r, MIX_COOKIE, job->browser_id,
                               (long)job->r->app->cfg->session_hours * 3600);
        }
    }
    mix_cache_key(job->session, job->browser_id, key);
}

/* Keeps the first `want` picks' ids as the session's shown songs. */
static void remember_shown(struct mix_cache *cache, const uint8_t key[32],
                           const struct mix_result *r, size_t want)
{
    size_t n = r->n_picks < want ? r->n_picks : want;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids)
        return;
    for (size_t i = 0; i < n; i++)
        ids[i] = r->picks[i].id;
    mix_cache_put_shown(cache, key, time(NULL), ids, n);
    free(ids);
}

static void pick_free(struct mix_pick *p)
{
    free(p->name);
    free(p->artists);
    free(p->because);
    free(p->because_artist);
    free(p->style);
}

void mix_result_truncate(struct mix_result *r, size_t n)
{
    while (r->n_picks > n)
        pick_free(&r->picks[--r->n_picks]);
}

static bool was_shown(const char *id, const char (*before)[23], size_t n_before)
{
    for (size_t i = 0; i < n_before; i++)
        if (strcmp(id, before[i]) == 0)
            return true;
    return false;
}

void mix_prefer_new(struct mix_result *r, const char (*before)[23], size_t n_before, size_t want)
{
    size_t n = r->n_picks;
    if (want >= n || n == 0)
        return;
    /* Each style keeps its share of the first `want` (largest remainders). */
    size_t *style_of = calloc(n, sizeof *style_of), *count = calloc(n, sizeof *count),
           *quota = calloc(n, sizeof *quota);
    double *rest = calloc(n, sizeof *rest);
    bool *chosen = calloc(n, sizeof *chosen);
    struct mix_pick *order = calloc(n, sizeof *order);
    size_t n_styles = 0;
    if (!style_of || !count || !quota || !rest || !chosen || !order)
        goto done;
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        while (s < i && !(r->picks[s].cluster == r->picks[i].cluster &&
                          strcmp(r->picks[s].style ? r->picks[s].style : "",
                                 r->picks[i].style ? r->picks[i].style : "") == 0))
            s++;
        style_of[i] = s < i ? style_of[s] : n_styles++;
        count[style_of[i]]++;
    }
    size_t given = 0;
    for (size_t s = 0; s < n_styles; s++) {
        double exact = (double)want * (double)count[s] / (double)n;
        quota[s] = (size_t)exact;
        rest[s] = exact - (double)quota[s];
        given += quota[s];
    }
    while (given < want) {
        size_t best = 0;
        for (size_t s = 1; s < n_styles; s++)
            if (rest[s] > rest[best])
                best = s;
        quota[best]++;
        rest[best] = -1;
        given++;
    }
    /* New songs first within each style's quota, then shown ones if a style runs short. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            size_t s = style_of[i];
            if (chosen[i] || quota[s] == 0)
                continue;
            if (pass == 0 && was_shown(r->picks[i].id, before, n_before))
                continue;
            chosen[i] = true;
            quota[s]--;
        }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (chosen[i])
            order[k++] = r->picks[i];
    for (int pass = 0; pass < 2; pass++) /* the rest: new ones first */
        for (size_t i = 0; i < n; i++)
            if (!chosen[i] && was_shown(r->picks[i].id, before, n_before) == (pass == 1))
                order[k++] = r->picks[i];
    memcpy(r->picks, order, n * sizeof *order);
done:
    free(style_of);
    free(count);
    free(quota);
    free(rest);
    free(chosen);
    free(order);
}

/* Asks reco-service for its health (1 s, twice at most) before the library is read, so a
 * user is told at once, not after a long read, that no playlist can be made now. */
static bool compute_ready(struct mix_job *job)
{
    /* Twice: with several instances, the first answer may come from one that just died while
     * the client moves on to the others (as Recommend itself would). */
    bool ready = false;
    enum rpc_code code = RPC_OK;
    for (int attempt = 0; attempt < 2 && !ready; attempt++) {
        struct reco_rpc_health *h = NULL;
        char *message = NULL;
        code = reco_rpc_health(job->r->app->rpc, 1000, &h, &message);
        ready = code == RPC_OK && h && h->serving;
        reco_rpc_health_free(h);
        free(message);
    }
    if (!ready) {
        job->error = PAGE_ERR_COMPUTE_NOT_READY;
        job->detail[0] = '\0';
        log_warn("compute_not_ready", "rpc_code=%s", rpc_code_name(code));
    }
    return ready;
}

void mix_playlist_text(const char *prefix, const char *const *styles, size_t n_styles, time_t now,
                       char name[128], char description[300])
{
    struct tm tm;
    gmtime_r(&now, &tm);
    char day[32];
    strftime(day, sizeof day, "%-d %b %Y", &tm);
    snprintf(name, 128, "%s \u00b7 %s", prefix, day);
    int len = snprintf(description, 300, "Made by mixtape from your Liked Songs on %s", day);
    for (size_t i = 0; i < n_styles && i < 3 && len > 0 && len < 300; i++)
        len += snprintf(description + len, 300 - (size_t)len, "%s%s",
                        i ? ", " : ". Styles: ", styles[i]);
    if (len > 0 && len < 299)
        snprintf(description + len, 300 - (size_t)len, ".");
}

bool mix_job_save(struct mix_job *job, const char *const *ids, size_t n)
{
    const struct auth_config *cfg = job->r->app->cfg;
    struct mix_cache *cache = job->r->app->cache;
    uint8_t key[32];
    char previous[64] = "";
    bool replace = false;
    if (cache && job->session) {
        job_key(job, key);
        replace = mix_cache_get_playlist(cache, key, time(NULL), previous);
    }
    char name[128], description[300];
    const char *styles[3];
    size_t n_styles = 0;
    for (size_t i = 0; i < job->n_style_names && n_styles < 3; i++)
        styles[n_styles++] = job->style_names[i];
    if (job->have_result)
        for (size_t i = 0; i < job->result.n_styles && n_styles < 3; i++)
            if (job->result.styles[i].name && job->result.styles[i].name[0])
                styles[n_styles++] = job->result.styles[i].name;
    mix_playlist_text(cfg->playlist_name, styles, n_styles, time(NULL), name, description);
    enum spotify_status st =
        spotify_save_playlist(job->client, name, description, cfg->public_playlists,
                              replace ? previous : NULL, ids, n, job->saved_id);
    if (st != SPOTIFY_OK) {
        job->error = pages_error_of_spotify(st);
        snprintf(job->detail, sizeof job->detail, "%s", spotify_last_error(job->client));
        log_warn("playlist_save_failed", "reason=\"%s\"", spotify_strerror(st));
        return false;
    }
    job->replaced = replace;
    if (cache && job->session)
        mix_cache_put_playlist(cache, key, time(NULL), job->saved_id);
    log_info("playlist_saved", "tracks=%zu replaced=%s", n, replace ? "true" : "false");
    return true;
}

bool mix_job_run(struct mix_job *job)
{
    struct app *app = job->r->app;
    struct timespec start, read_done;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint8_t key[32];
    bool cached = false;
    if (app->cache && job->session) {
        job_key(job, key);
        cached = mix_cache_get_library(app->cache, key, time(NULL), &job->lib);
    }
    if (cached) {
        char line[160];
        snprintf(line, sizeof line, "Using the %zu saved tracks read a moment ago", job->lib.count);
        progress_line(job, "cached", line);
        goto have_library;
    }
    if (!compute_ready(job))
        return false;
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
    if (app->cache && job->session)
        mix_cache_put_library(app->cache, key, time(NULL), &job->lib);
have_library:;
    char text[160];
    snprintf(text, sizeof text, "Matching %zu saved tracks against the catalog", job->lib.count);
    progress_line(job, "match", text);
    /* Regenerate (a new variety) after songs were shown: ask for more and show mostly others,
     * style by style. */
    uint32_t asked = job->params.n ? job->params.n : RECO_DEFAULT_N;
    size_t want = job->shown ? job->shown : asked;
    char(*before)[23] = NULL;
    size_t n_before = 0;
    if (job->params.variety != 0 && app->cache && job->session &&
        mix_cache_get_shown(app->cache, key, time(NULL), &before, &n_before)) {
        uint32_t more = asked + (uint32_t)want;
        job->params.n = more > RECO_MAX_N ? RECO_MAX_N : more;
    }
    struct mix_call call;
    enum mix_status ms =
        mix_run(app->rpc, (uint32_t)app->cfg->reco_timeout_ms, &job->lib, &job->params,
                &job->result, &call, job->detail, sizeof job->detail);
    job->params.n = asked;
    if (ms == MIX_OK) {
        /* the songs shown keep the styles' shares of all the picks (and, after songs were
         * shown, are mostly others) */
        mix_prefer_new(&job->result, (const char(*)[23])before, n_before, want);
        mix_result_truncate(&job->result, asked);
        if (app->cache && job->session)
            remember_shown(app->cache, key, &job->result, want);
    }
    free(before);
    if (call.called)
        metrics_rpc("Recommend", rpc_code_name(call.code), call.seconds);
    job->status = ms;
    if (ms != MIX_OK) {
        job->error = page_error_of_mix(ms);
        return false;
    }
    job->have_result = true;
    snprintf(text, sizeof text, "Ranked the catalog: %zu songs across %zu of your styles",
             job->result.n_picks, job->result.n_clusters);
    progress_line(job, "rank", text);
    if (job->save && job->result.n_picks > 0) {
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

/* The JSON API (route_handlers.h): POST /api/mix makes a playlist (and saves it with
 * AUTO_SAVE), POST /api/save saves a list of track ids as a playlist. Both are POSTs from our
 * own site with a JSON body under a cap (request_api_preamble), for a signed-in user. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_limit.h"
#include "mix.h"
#include "mix_params.h"
#include "pages.h"
#include "route_handlers.h"
#include "routes.h"
#include "signed_in.h"

/* Answers a failed job with its page error as JSON (and clears a session that ended). */
static void send_job_error(struct request *r, enum page_error error, const char *detail)
{
    const struct page_error_info *info = pages_error_info(error);
    if (error == PAGE_ERR_SIGNED_OUT)
        request_clear_cookie(r, SESSION_COOKIE);
    char message[768];
    snprintf(message, sizeof message, "%s %s%s%s", info->title, info->what,
             detail[0] ? " Detail: " : "", detail);
    request_send_json_error(r, info->http_status, info->code, message);
}

/* Answers 400 {"error": code, "field": field, "message": message}. */
static void send_field_error(struct request *r, const char *code, const char *field,
                             const char *message)
{
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "error", code);
    if (field[0])
        cJSON_AddStringToObject(answer, "field", field);
    cJSON_AddStringToObject(answer, "message", message);
    request_send_json(r, 400, answer);
}

/* Reads the /api/mix body (mix_params.h) into *p. Answers 400 naming the member and returns
 * false on a bad body. */
static bool read_mix_params(struct request *r, const char *body, size_t len, struct mix_params *p)
{
    struct mix_params_error error;
    if (mix_params_parse(body, len, p, &error) == MIX_PARAMS_OK)
        return true;
    send_field_error(r, error.code, error.field, error.message);
    return false;
}

/* Answers a value reco-service refused (MIX_ERR_INVALID): 400, the field its message names
 * first ("target.energy: the model has no energy feature"). */
static void send_refused_value(struct request *r, const char *message)
{
    char field[32] = "", code[40];
    size_t len = strcspn(message, ":");
    snprintf(field, sizeof field, "%.*s", (int)(len < sizeof field ? len : sizeof field - 1),
             message);
    size_t top = strcspn(field, ".[");
    snprintf(code, sizeof code, "bad_%.*s", (int)top, field);
    send_field_error(r, code, field, message);
}

/* The /api/mix answer: the playlist, its statistics, and the saved playlist if any. */
static void send_mix_answer(struct request *r, const struct mix_job *job)
{
    cJSON *answer = cJSON_CreateObject();
    mix_result_to_json(&job->result, answer);
    cJSON *stats = cJSON_GetObjectItemCaseSensitive(answer, "stats");
    cJSON_AddNumberToObject(stats, "read", (double)job->lib.count);
    cJSON_AddNumberToObject(stats, "total", (double)job->lib.total);
    cJSON_AddBoolToObject(stats, "truncated", job->lib.truncated);
    cJSON_AddNumberToObject(answer, "variety", (double)job->params.variety);
    if (job->saved_id[0]) {
        char embed[256];
        pages_embed_url(job->saved_id, embed);
        cJSON *saved = cJSON_AddObjectToObject(answer, "saved");
        cJSON_AddStringToObject(saved, "id", job->saved_id);
        cJSON_AddStringToObject(saved, "embed", embed);
    }
    request_send_json(r, 200, answer);
}

/* Answers a signed_in_begin / signed_in_connect failure; true when there was one. */
static bool send_signed_in_error(struct request *r, enum signed_in_status sis,
                                 const struct signed_in *si)
{
    switch (sis) {
    case SIGNED_IN_OK:
        return false;
    case SIGNED_IN_NO_SESSION:
        request_send_json_error(r, 401, "signed_out", "sign in first: GET /login");
        break;
    case SIGNED_IN_ERR_SPOTIFY:
        send_job_error(r, si->error, si->detail);
        break;
    case SIGNED_IN_ERR_INTERNAL:
        request_send_json_error(r, 500, "internal", "out of memory");
        break;
    }
    return true;
}

void handle_api_mix(struct request *r)
{
    char *body = NULL;
    size_t len = 0;
    struct signed_in si = {0};
    struct mix_job job = {.r = r, .params = {.n = 50}, .save = r->app->cfg->auto_save};
    if (!request_api_preamble(r, ROUTES_MAX_MIX_BODY, &body, &len))
        goto done;
    if (send_signed_in_error(r, signed_in_begin(r, &si), &si))
        goto done;
    if (!read_mix_params(r, body, len, &job.params))
        goto done;
    if (send_signed_in_error(r, signed_in_connect(r, &si), &si))
        goto done;
    job.client = si.client;
    bool ok = mix_job_run(&job);
    signed_in_keep_tokens(r, &si);
    if (!ok && job.status == MIX_ERR_INVALID) {
        send_refused_value(r, job.detail);
        goto done;
    }
    if (!ok) {
        send_job_error(r, job.error, job.detail);
        goto done;
    }
    send_mix_answer(r, &job);
done:
    free(body);
    mix_job_free(&job);
    signed_in_end(&si);
}

/* Reads {"ids": [1..500 track ids]} into *ids (malloc'd, pointing into *req, which the caller
 * deletes). Answers and returns -1 on a bad body, else the number of ids. */
static int read_save_ids(struct request *r, const char *body, size_t len, cJSON **req,
                         const char ***ids)
{
    *req = json_parse_limited(body, len, JSON_MAX_DEPTH, NULL);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(*req, "ids");
    if (!cJSON_IsArray(list)) {
        request_send_json_error(r, 400, "bad_ids", "the body must be {\"ids\": [track ids]}");
        return -1;
    }
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > (int)SPOTIFY_MAX_PLAYLIST) {
        request_send_json_error(r, 400, "bad_ids", "ids must hold 1 to 500 track ids");
        return -1;
    }
    *ids = calloc((size_t)n, sizeof **ids);
    if (!*ids) {
        request_send_json_error(r, 500, "internal", "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetArrayItem(list, i);
        bool ok = cJSON_IsString(id) && strlen(id->valuestring) == 22 &&
                  strspn(id->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789") == 22;
        if (!ok) {
            char message[96];
            snprintf(message, sizeof message, "ids[%d] is not a 22-character Spotify track id", i);
            request_send_json_error(r, 400, "bad_ids", message);
            return -1;
        }
        (*ids)[i] = id->valuestring;
    }
    return n;
}

void handle_api_save(struct request *r)
{
    char *body = NULL;
    size_t len = 0;
    struct signed_in si = {0};
    struct mix_job job = {.r = r};
    cJSON *req = NULL;
    const char **ids = NULL;
    if (!request_api_preamble(r, ROUTES_MAX_SAVE_BODY, &body, &len))
        goto done;
    if (send_signed_in_error(r, signed_in_begin(r, &si), &si))
        goto done;
    int n = read_save_ids(r, body, len, &req, &ids);
    if (n < 0)
        goto done;
    if (send_signed_in_error(r, signed_in_connect(r, &si), &si))
        goto done;
    job.client = si.client;
    bool ok = mix_job_save(&job, ids, (size_t)n);
    signed_in_keep_tokens(r, &si);
    if (!ok) {
        send_job_error(r, job.error, job.detail);
        goto done;
    }
    char embed[256], url[128];
    pages_embed_url(job.saved_id, embed);
    snprintf(url, sizeof url, "https://open.spotify.com/playlist/%s", job.saved_id);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "id", job.saved_id);
    cJSON_AddStringToObject(answer, "url", url);
    cJSON_AddStringToObject(answer, "embed", embed);
    cJSON_AddNumberToObject(answer, "tracks", n);
    request_send_json(r, 201, answer);
done:
    free(ids);
    cJSON_Delete(req);
    free(body);
    mix_job_free(&job);
    signed_in_end(&si);
}

/* The control API for tests (not part of Spotify): change faults at run time and read back what
 * clients created (/_emu/config, /_emu/playlists, /_emu/users, /_emu/stats, /_emu/expire). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "server.h"

static cJSON *config_json(const struct emu_config *config)
{
    cJSON *object = cJSON_CreateObject();
    cJSON_AddNumberToObject(object, "rate_429", config->rate_429);
    cJSON_AddNumberToObject(object, "rate_5xx", config->rate_5xx);
    cJSON_AddNumberToObject(object, "latency_ms", (double)config->latency_ms);
    cJSON_AddNumberToObject(object, "token_lifetime", (double)config->token_lifetime);
    cJSON_AddNumberToObject(object, "code_lifetime", (double)config->code_lifetime);
    cJSON_AddNumberToObject(object, "retry_after", (double)config->retry_after);
    cJSON_AddBoolToObject(object, "quota_exceeded", config->quota_exceeded);
    cJSON_AddBoolToObject(object, "legacy_audio_features", config->legacy_audio_features);
    cJSON_AddBoolToObject(object, "foreign_next", config->foreign_next);
    cJSON *uris = cJSON_AddArrayToObject(object, "redirect_uris");
    for (size_t i = 0; i < config->n_redirect_uris; i++)
        cJSON_AddItemToArray(uris, cJSON_CreateString(config->redirect_uris[i]));
    return object;
}

static int control_error(struct mg_connection *conn, int status, const char *message)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "error", message);
    return emu_http_send_json(conn, status, body, NULL);
}

/* Applies one key of a config request to *config. Returns NULL, or a message naming the key
 * and its rule. */
static const char *apply(struct emu_config *config, const cJSON *item)
{
    static const struct {
        const char *key;
        double min, max;
        size_t offset;
        int kind; /* 0 double, 1 long long, 2 bool */
    } KEYS[] = {
        {"rate_429", 0, 1, offsetof(struct emu_config, rate_429), 0},
        {"rate_5xx", 0, 1, offsetof(struct emu_config, rate_5xx), 0},
        {"latency_ms", 0, 10000, offsetof(struct emu_config, latency_ms), 1},
        {"token_lifetime", 1, 86400, offsetof(struct emu_config, token_lifetime), 1},
        {"code_lifetime", 1, 3600, offsetof(struct emu_config, code_lifetime), 1},
        {"retry_after", 0, 3600, offsetof(struct emu_config, retry_after), 1},
        {"quota_exceeded", 0, 1, offsetof(struct emu_config, quota_exceeded), 2},
        {"legacy_audio_features", 0, 1, offsetof(struct emu_config, legacy_audio_features), 2},
        {"foreign_next", 0, 1, offsetof(struct emu_config, foreign_next), 2},
    };
    static _Thread_local char message[480];
    if (strcmp(item->string, "redirect_uris") == 0) {
        char problem[400];
        if (!cJSON_IsString(item))
            return "a comma-separated string of URIs";
        if (emu_config_set_redirect_uris(config, item->valuestring, problem, sizeof problem) != 0) {
            snprintf(message, sizeof message, "%s", problem);
            return message;
        }
        return NULL;
    }
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
        if (strcmp(item->string, KEYS[k].key) != 0)
            continue;
        char *field = (char *)config + KEYS[k].offset;
        if (KEYS[k].kind == 2) {
            if (!cJSON_IsBool(item))
                return "quota_exceeded, legacy_audio_features and foreign_next are booleans";
            *(bool *)field = cJSON_IsTrue(item);
            return NULL;
        }
        double value = item->valuedouble;
        if (!cJSON_IsNumber(item) || !isfinite(value) || value < KEYS[k].min ||
            value > KEYS[k].max || (KEYS[k].kind == 1 && value != floor(value))) {
            snprintf(message, sizeof message, "%s must be a %s in %g..%g", KEYS[k].key,
                     KEYS[k].kind == 1 ? "whole number" : "number", KEYS[k].min, KEYS[k].max);
            return message;
        }
        if (KEYS[k].kind == 0)
            *(double *)field = value;
        else
            *(long long *)field = (long long)value;
        return NULL;
    }
    return "unknown key (known: rate_429, rate_5xx, latency_ms, token_lifetime, code_lifetime, "
           "retry_after, quota_exceeded, legacy_audio_features, foreign_next, redirect_uris)";
}

static int config_request(struct emu_server *server, struct mg_connection *conn, bool post)
{
    struct emu_config config;
    emu_state_get_config(&server->state, &config);
    if (!post)
        return emu_http_send_json(conn, 200, config_json(&config), NULL);
    char *body = NULL;
    size_t len = 0;
    enum emu_http_status read = emu_http_read_body(conn, EMU_JSON_LIMIT, &body, &len);
    if (read != EMU_HTTP_OK)
        return control_error(conn, read == EMU_HTTP_TOO_LARGE ? 413 : 400,
                             "body: at most 65536 bytes of JSON");
    cJSON *request = cJSON_ParseWithLength(body, len);
    free(body);
    int status = 400;
    if (!cJSON_IsObject(request)) {
        status = control_error(conn, 400, "body: a JSON object is required");
        goto done;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, request)
    {
        const char *problem = apply(&config, item);
        if (problem) {
            char message[600];
            snprintf(message, sizeof message, "%.64s: %s", item->string, problem);
            status = control_error(conn, 400, message);
            goto done;
        }
    }
    emu_state_set_config(&server->state, &config);
    log_info("config",
             "rate_429=%g rate_5xx=%g latency_ms=%lld token_lifetime=%lld "
             "quota_exceeded=%d legacy_audio_features=%d",
             config.rate_429, config.rate_5xx, config.latency_ms, config.token_lifetime,
             config.quota_exceeded, config.legacy_audio_features);
    status = emu_http_send_json(conn, 200, config_json(&config), NULL);
done:
    cJSON_Delete(request);
    return status;
}

static int users(struct emu_server *server, struct mg_connection *conn)
{
    static const char *const KINDS[] = {"catalog", "duplicate", "fresh", "local"};
    cJSON *answer = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(answer, "users");
    for (size_t u = 0; u < server->library.n_users; u++) {
        const struct emu_user *user = &server->library.users[u];
        cJSON *object = cJSON_CreateObject();
        cJSON_AddStringToObject(object, "id", user->id);
        cJSON_AddStringToObject(object, "display_name", user->display_name);
        cJSON_AddBoolToObject(object, "allow_listed", user->allow_listed);
        cJSON_AddNumberToObject(object, "saved", (double)user->n_saved);
        size_t counts[4] = {0};
        cJSON *ids = cJSON_AddArrayToObject(object, "saved_ids");
        for (size_t i = 0; i < user->n_saved; i++) {
            counts[user->saved[i].kind]++;
            if (user->saved[i].track.id[0])
                cJSON_AddItemToArray(ids, cJSON_CreateString(user->saved[i].track.id));
        }
        cJSON *kinds = cJSON_AddObjectToObject(object, "kinds");
        for (int k = 0; k < 4; k++)
            cJSON_AddNumberToObject(kinds, KINDS[k], (double)counts[k]);
        cJSON_AddItemToArray(list, object);
    }
    return emu_http_send_json(conn, 200, answer, NULL);
}

int emu_control_handle(struct emu_server *server, struct mg_connection *conn, const char *path)
{
    const char *method = mg_get_request_info(conn)->request_method;
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(path, "/_emu/config") == 0 && (get || post))
        return config_request(server, conn, post);
    if (strcmp(path, "/_emu/playlists") == 0 && get) {
        cJSON *answer = cJSON_CreateObject();
        cJSON_AddItemToObject(answer, "playlists",
                              emu_state_playlists_json(&server->state, &server->library, SIZE_MAX));
        return emu_http_send_json(conn, 200, answer, NULL);
    }
    if (strcmp(path, "/_emu/users") == 0 && get)
        return users(server, conn);
    if (strcmp(path, "/_emu/stats") == 0 && get)
        return emu_http_send_json(conn, 200, emu_state_stats_json(&server->state), NULL);
    if (strcmp(path, "/_emu/expire") == 0 && post) {
        const char *query = mg_get_request_info(conn)->query_string;
        char refresh[8] = "";
        emu_http_param(query, query ? strlen(query) : 0, "refresh", refresh, sizeof refresh);
        bool refresh_too = strcmp(refresh, "1") == 0 || strcmp(refresh, "true") == 0;
        emu_state_expire_tokens(&server->state, refresh_too);
        cJSON *answer = cJSON_CreateObject();
        cJSON_AddBoolToObject(answer, "access_expired", true);
        cJSON_AddBoolToObject(answer, "refresh_revoked", refresh_too);
        return emu_http_send_json(conn, 200, answer, NULL);
    }
    return control_error(conn, 404, "unknown control path (see tests/emulator/README.md)");
}

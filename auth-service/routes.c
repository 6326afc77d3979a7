/* The HTTP routes of auth-service (routes.h): the table, the dispatcher that counts and logs
 * every answer, and the operational endpoints (/healthz, /readyz, /metrics, the script and
 * stylesheet). The pages are in routes_pages.c, the JSON API in routes_api.c, sign-in in
 * routes_signin.c. A GET never writes to the user's account. */
#include "routes.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "pages.h"
#include "reco_rpc.h"
#include "route_handlers.h"

static int64_t unix_now(void)
{
    return (int64_t)time(NULL);
}

static void handle_healthz(struct request *r)
{
    request_send_body(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void handle_readyz(struct request *r)
{
    struct reco_rpc_health *h = NULL;
    char *message = NULL;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum rpc_code code = reco_rpc_health(r->app->rpc, 1000, &h, &message);
    clock_gettime(CLOCK_MONOTONIC, &end);
    metrics_rpc("Health", rpc_code_name(code),
                (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
    cJSON *answer = cJSON_CreateObject();
    bool ready = h && h->serving;
    cJSON_AddBoolToObject(answer, "ready", ready);
    if (h && h->model_version)
        cJSON_AddStringToObject(answer, "model_version", h->model_version);
    if (!ready) {
        char why[256];
        snprintf(why, sizeof why, "reco-service %s%s%s",
                 code == RPC_OK ? "is not serving" : rpc_code_name(code), message ? ": " : "",
                 message ? message : "");
        cJSON_AddStringToObject(answer, "reason", why);
    }
    reco_rpc_health_free(h);
    free(message);
    request_send_json(r, ready ? 200 : 503, answer);
}

static void handle_metrics(struct request *r)
{
    char *text = metrics_render(r->app->rpc);
    if (!text) {
        request_send_body(r, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    request_send_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    free(text);
}

static void handle_script(struct request *r)
{
    request_send_body(r, 200, "text/javascript; charset=utf-8", pages_script, strlen(pages_script));
}

static void handle_stylesheet(struct request *r)
{
    request_send_body(r, 200, "text/css; charset=utf-8", pages_stylesheet,
                      strlen(pages_stylesheet));
}

struct route {
    const char *method;
    const char *path; /* also the metrics label */
    void (*handle)(struct request *r);
    bool slot; /* may wait on Spotify or reco-service: runs in one of the THREADS work slots */
};

static const struct route ROUTES[] = {
    {"GET", "/", handle_landing, false},
    {"GET", "/login", handle_login, false},
    {"GET", "/callback", handle_callback, true},
    {"POST", "/logout", handle_logout, false},
    {"GET", "/mix", handle_mix_page, true},
    {"POST", "/api/mix", handle_api_mix, true},
    {"POST", "/api/save", handle_api_save, true},
    {"GET", "/healthz", handle_healthz, false},
    {"GET", "/readyz", handle_readyz, false},
    {"GET", "/metrics", handle_metrics, false},
    {"GET", "/app.js", handle_script, false},
    {"GET", "/app.css", handle_stylesheet, false},
    {"GET", "/art", handle_art, true},
};

/* Runs route in a work slot: a request that would wait on Spotify or reco-service while all
 * THREADS are busy waits up to QUEUE_WAIT_MS in a bounded queue, then gets 503 busy. */
static void run_in_slot(struct request *r, const struct route *route)
{
    enum work_slots_status ws =
        work_slots_acquire(&r->app->slots, (long)r->app->cfg->queue_wait_ms);
    if (ws == WORK_SLOTS_OK) {
        route->handle(r);
        work_slots_release(&r->app->slots);
        return;
    }
    log_warn("busy", "route=%s reason=\"%s\"", route->path, work_slots_strerror(ws));
    static const char message[] = "Every playlist worker is busy; try again in a few seconds.";
    if (strncmp(route->path, "/api/", 5) == 0) {
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "error", "busy");
        cJSON_AddStringToObject(obj, "message", message);
        char *text = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
        if (text) {
            request_send_head(r, 503, "application/json", (long long)strlen(text),
                              "Retry-After: 5\r\n");
            mg_write(r->conn, text, strlen(text));
            free(text);
        }
        return;
    }
    struct html h;
    html_init(&h);
    html_raw(&h, "<!doctype html><title>Busy</title><p>");
    html_raw(&h, "%s", message);
    html_raw(&h, " <a href=\"/\">Start page</a></p>\n");
    if (html_failed(&h)) {
        request_send_body(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    } else {
        request_send_head(r, 503, "text/html; charset=utf-8", (long long)h.text.len,
                          "Retry-After: 5\r\n");
        if (strcmp(r->info->request_method, "HEAD") != 0)
            mg_write(r->conn, h.text.bytes, h.text.len);
    }
    html_free(&h);
}

int routes_begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct app *app = mg_get_user_data(mg_get_context(conn));
    const char *refusal = request_framing_error(ri);
    if (!refusal)
        return 0;
    struct request r = {.conn = conn, .info = ri, .app = app, .now = unix_now()};
    request_send_head(&r, 400, "text/plain; charset=utf-8", (long long)strlen(refusal) + 1,
                      "Connection: close\r\n");
    mg_printf(conn, "%s\n", refusal);
    metrics_request("unknown", r.status);
    log_info("request", "method=%.16s route=unknown status=400 ms=0 reason=\"%s\"",
             ri->request_method, refusal);
    return 1;
}

static int dispatch(struct mg_connection *conn, void *cbdata)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return 500;
    r->conn = conn;
    r->info = mg_get_request_info(conn);
    r->app = cbdata;
    r->now = unix_now();
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const char *path = r->info->local_uri ? r->info->local_uri : "";
    const char *method = r->info->request_method;
    const char *label = "unknown";
    bool path_known = false;
    const struct route *route = NULL;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (strcmp(ROUTES[i].path, path) != 0)
            continue;
        path_known = true;
        label = ROUTES[i].path;
        bool head_ok = strcmp(method, "HEAD") == 0 && strcmp(ROUTES[i].method, "GET") == 0;
        if (strcmp(ROUTES[i].method, method) == 0 || head_ok)
            route = &ROUTES[i];
    }
    if (route && route->slot) {
        run_in_slot(r, route);
    } else if (route) {
        route->handle(r);
    } else if (path_known && strncmp(path, "/api/", 5) == 0) {
        request_send_json_error(r, 405, "method_not_allowed",
                                "this address takes POST with a JSON body, not a page visit");
    } else if (path_known) {
        request_send_body(r, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
    } else {
        struct html h;
        html_init(&h);
        html_raw(&h, "<!doctype html><title>Not found</title><p>Nothing here. "
                     "<a href=\"/\">Start page</a></p>\n");
        request_send_html(r, 404, &h);
        html_free(&h);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long ms = (long)((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000);
    metrics_request(label, r->status);
    log_info("request", "method=%s route=%s status=%d ms=%ld", method, label, r->status, ms);
    int status = r->status ? r->status : 500;
    OPENSSL_cleanse(r->set_cookies, sizeof r->set_cookies);
    free(r);
    return status;
}

static void on_spotify_call(const char *endpoint, long status)
{
    metrics_spotify(endpoint, status);
}

int routes_init(struct app *app, const struct auth_config *cfg, struct rpc_client *rpc)
{
    app->cfg = cfg;
    app->rpc = rpc;
    atomic_init(&app->audio_features_on, cfg->audio_features);
    /* 64 sessions, 200,000 tracks in all, 10 minutes: a few hundred MB at worst */
    app->cache = mix_cache_new(64, 200000, 600);
    /* 2,000 pictures (about 30 KiB each), 64 MiB at most */
    app->art = art_cache_new(cfg->oembed_base, 2000, 64u << 20);
    app->spotify = (struct spotify_settings){
        .accounts_base = cfg->accounts_base,
        .api_base = cfg->api_base,
        .api_origin = cfg->api_origin,
        .client_id = cfg->client_id,
        .client_secret = cfg->client_secret,
        .redirect_uri = cfg->redirect_uri,
        .connections = (int)cfg->spotify_connections,
        .timeout_ms = (long)cfg->spotify_timeout_ms,
        .budget_ms = (long)cfg->spotify_budget_ms,
        .max_tracks = (uint32_t)cfg->max_saved,
        .on_call = on_spotify_call,
    };
    if (revoked_init(&app->revoked, REVOKED_CAPACITY) != 0)
        return -1;
    if (renewed_init(&app->renewed) != 0) {
        revoked_destroy(&app->revoked);
        return -1;
    }
    if (work_slots_init(&app->slots, (int)cfg->threads,
                        (int)cfg->threads * ROUTES_QUEUE_PER_SLOT) != 0) {
        renewed_destroy(&app->renewed);
        revoked_destroy(&app->revoked);
        return -1;
    }
    return 0;
}

void routes_register(struct mg_context *ctx, struct app *app)
{
    mg_set_request_handler(ctx, "/", dispatch, app);
}

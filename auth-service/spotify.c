/* The Spotify client's core: see spotify.h and spotify_call.h. Every call goes through one
 * small engine (spotify_run_calls) that keeps at most `connections` transfers in flight on a
 * curl multi, shares one connection cache per client, and decides per answer: done, retry
 * later (429, 5xx, timeout), refresh the token (401), or fail. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "json_limit.h"
#include "spotify_call.h"

const char *const spotify_feature_names[SPOTIFY_N_FEATURES] = {
    "danceability", "energy",           "key",      "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence",  "tempo"};

const char *spotify_strerror(enum spotify_status status)
{
    switch (status) {
    case SPOTIFY_OK:
        return "ok";
    case SPOTIFY_ERR_NETWORK:
        return "Spotify could not be reached";
    case SPOTIFY_ERR_UNAVAILABLE:
        return "Spotify kept answering with server errors";
    case SPOTIFY_ERR_RATE_LIMITED:
        return "Spotify asked us to wait longer than we can";
    case SPOTIFY_ERR_QUOTA:
        return "the app's Spotify quota is exceeded";
    case SPOTIFY_ERR_UNAUTHORIZED:
        return "Spotify no longer accepts this sign-in";
    case SPOTIFY_ERR_INVALID_GRANT:
        return "Spotify refused the sign-in grant (expired, revoked or already used)";
    case SPOTIFY_ERR_NOT_ALLOWLISTED:
        return "this Spotify account is not on the app's allow-list";
    case SPOTIFY_ERR_NO_PREMIUM:
        return "the app owner's Spotify account needs Premium";
    case SPOTIFY_ERR_SCOPE:
        return "a permission (scope) was not granted";
    case SPOTIFY_ERR_FORBIDDEN:
        return "Spotify refused the request (403)";
    case SPOTIFY_ERR_BAD_REQUEST:
        return "Spotify rejected the request";
    case SPOTIFY_ERR_BAD_RESPONSE:
        return "Spotify's answer could not be understood";
    case SPOTIFY_ERR_TOO_LARGE:
        return "Spotify's answer was larger than we accept";
    case SPOTIFY_ERR_BAD_HOST:
        return "Spotify pointed us at a host other than the configured API";
    case SPOTIFY_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown spotify status";
}

long spotify_retry_after_ms(const char *value, int64_t now)
{
    if (!value || !*value)
        return 1000;
    while (*value == ' ')
        value++;
    char *end = NULL;
    long long seconds = strtoll(value, &end, 10);
    if (end != value) {
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0' || seconds < 0)
            return 1000;
    } else {
        time_t when = curl_getdate(value, NULL);
        if (when < 0)
            return 1000;
        seconds = (long long)when - now;
        if (seconds < 0)
            seconds = 0;
    }
    if (seconds > SPOTIFY_MAX_RETRY_AFTER_S)
        seconds = SPOTIFY_MAX_RETRY_AFTER_S;
    return (long)seconds * 1000;
}

long spotify_backoff_ms(int attempt, double unit)
{
    long base = 250;
    for (int i = 0; i < attempt && base < 8000; i++)
        base *= 2;
    if (base > 8000)
        base = 8000;
    if (unit < 0)
        unit = 0;
    if (unit >= 1)
        unit = 0.999999;
    return base / 2 + (long)(unit * (double)(base - base / 2));
}

bool spotify_url_on_origin(const char *url, const char *origin)
{
    size_t len = strlen(origin);
    return strncmp(url, origin, len) == 0 && url[len] == '/';
}

enum spotify_status spotify_classify_403(const char *body, size_t len)
{
    char text[1024];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    for (size_t i = 0; i < n; i++)
        text[i] = (char)((body[i] >= 'A' && body[i] <= 'Z') ? body[i] | 0x20 : body[i]);
    text[n] = '\0';
    if (strstr(text, "premium"))
        return SPOTIFY_ERR_NO_PREMIUM;
    if (strstr(text, "scope"))
        return SPOTIFY_ERR_SCOPE;
    if (strstr(text, "not registered") || strstr(text, "allow") ||
        strstr(text, "developer dashboard") || strstr(text, "user may not"))
        return SPOTIFY_ERR_NOT_ALLOWLISTED;
    return SPOTIFY_ERR_FORBIDDEN;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629, Table 3-7 of Unicode), or 0. */
static size_t utf8_sequence(const unsigned char *p)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        n = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        n = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xE0)
        lo = 0xA0; /* overlong */
    else if (p[0] == 0xED)
        hi = 0x9F; /* surrogates */
    else if (p[0] == 0xF0)
        lo = 0x90; /* overlong */
    else if (p[0] == 0xF4)
        hi = 0x8F; /* over U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL */
    return n;
}

size_t spotify_utf8_prefix(const char *text, size_t max)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strnlen(text, max + 1);
    if (len <= max)
        return len;
    size_t used = 0;
    while (used < max) {
        size_t n = p[used] < 0x80 ? 1 : utf8_sequence(p + used);
        if (n == 0)
            n = 1; /* not part of a character: a byte of its own */
        if (used + n > max)
            break;
        used += n;
    }
    return used;
}

size_t spotify_utf8_clean(const char *text, char *out, size_t cap)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *p = (const unsigned char *)text;
    size_t used = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; p[i];) {
        size_t n = p[i] < 0x80 ? 1 : utf8_sequence(p + i);
        const char *from = (const char *)p + i;
        size_t width = n;
        if (n == 0) { /* a byte that starts no well-formed character */
            from = replacement;
            width = 3;
            n = 1;
        }
        if (used + width > cap - 1)
            break;
        memcpy(out + used, from, width);
        used += width;
        i += n;
    }
    out[used] = '\0';
    return used;
}

bool spotify_is_track_id(const char *s)
{
    size_t n = strlen(s);
    if (n != 22)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

struct spotify_client *spotify_client_new(const struct spotify_settings *settings,
                                          const struct spotify_tokens *tokens)
{
    struct spotify_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->settings = settings;
    if (tokens)
        c->tokens = *tokens;
    c->share = curl_share_init();
    if (!c->share) {
        free(c);
        return NULL;
    }
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (RAND_bytes((unsigned char *)&c->jitter_state, sizeof c->jitter_state) != 1)
        c->jitter_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    c->jitter_state |= 1;
    return c;
}

void spotify_client_free(struct spotify_client *client)
{
    if (!client)
        return;
    curl_share_cleanup(client->share);
    memset(&client->tokens, 0, sizeof client->tokens);
    free(client);
}

const struct spotify_tokens *spotify_tokens(const struct spotify_client *client)
{
    return &client->tokens;
}

bool spotify_tokens_changed(const struct spotify_client *client)
{
    return client->tokens_changed;
}

const char *spotify_last_error(const struct spotify_client *client)
{
    return client->last_error;
}

static double next_unit(struct spotify_client *c)
{
    c->jitter_state ^= c->jitter_state << 13;
    c->jitter_state ^= c->jitter_state >> 7;
    c->jitter_state ^= c->jitter_state << 17;
    return (double)(c->jitter_state >> 11) / 9007199254740992.0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct call *call = userdata;
    size_t n = size * nmemb;
    if (call->response_len + n > SPOTIFY_MAX_RESPONSE) {
        call->too_large = true;
        return 0;
    }
    char *grown = realloc(call->response, call->response_len + n + 1);
    if (!grown)
        return 0;
    call->response = grown;
    memcpy(call->response + call->response_len, ptr, n);
    call->response_len += n;
    call->response[call->response_len] = '\0';
    return n;
}

static size_t on_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct call *call = userdata;
    size_t n = size * nitems;
    static const char NAME[] = "retry-after:";
    if (n > sizeof NAME && strncasecmp(buffer, NAME, sizeof NAME - 1) == 0) {
        size_t value_len = n - (sizeof NAME - 1);
        if (value_len >= sizeof call->retry_after)
            value_len = sizeof call->retry_after - 1;
        memcpy(call->retry_after, buffer + sizeof NAME - 1, value_len);
        call->retry_after[value_len] = '\0';
    }
    return n;
}

static void call_reset_answer(struct call *call)
{
    free(call->response);
    call->response = NULL;
    call->response_len = 0;
    call->too_large = false;
    call->retry_after[0] = '\0';
    call->http_status = 0;
}

static void call_release(struct call *call)
{
    if (call->easy)
        curl_easy_cleanup(call->easy);
    call->easy = NULL;
    curl_slist_free_all(call->headers);
    call->headers = NULL;
}

void spotify_calls_free(struct call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        call_release(&calls[i]);
        free(calls[i].body);
        free(calls[i].response);
    }
}

static int call_start(struct spotify_client *c, CURLM *multi, struct call *call)
{
    call_reset_answer(call);
    call->easy = curl_easy_init();
    if (!call->easy)
        return -1;
    CURL *e = call->easy;
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->settings->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->settings->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mixtape-auth-service/0.1");
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    call->headers = curl_slist_append(NULL, "Accept: application/json");
    if (call->bearer) {
        char auth[SESSION_MAX_TOKEN_LEN + 32];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->tokens.access_token);
        call->headers = curl_slist_append(call->headers, auth);
        memset(auth, 0, sizeof auth);
        call->token_generation = c->token_generation;
    }
    if (call->post) {
        call->headers = curl_slist_append(
            call->headers, call->form ? "Content-Type: application/x-www-form-urlencoded"
                                      : "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        if (call->form && c->settings->client_secret) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, c->settings->client_id);
            curl_easy_setopt(e, CURLOPT_PASSWORD, c->settings->client_secret);
        }
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    call->attempts++;
    call->state = CALL_ACTIVE;
    return curl_multi_add_handle(multi, e) == CURLM_OK ? 0 : -1;
}

void spotify_error_detail(const char *body, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    cJSON *parsed = body ? json_parse_limited(body, len, JSON_MAX_DEPTH, NULL) : NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(parsed, "error");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(parsed, "error_description");
    const char *text = cJSON_IsString(message)       ? message->valuestring
                       : cJSON_IsString(description) ? description->valuestring
                       : cJSON_IsString(error)       ? error->valuestring
                                                     : "";
    size_t n = spotify_utf8_prefix(text, cap - 1); /* never half a character */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        out[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? ' ' : (char)ch;
    }
    out[n] = '\0';
    cJSON_Delete(parsed);
}

/* Copies a short, token-free detail of an error answer into the client. */
static void note_error(struct spotify_client *c, const struct call *call, const char *what)
{
    char detail[160];
    spotify_error_detail(call->response, call->response_len, detail, sizeof detail);
    snprintf(c->last_error, sizeof c->last_error, "%s (%s, HTTP %ld%s%s)", what, call->endpoint,
             call->http_status, detail[0] ? ": " : "", detail);
}

static bool body_says(const struct call *call, const char *needle)
{
    return call->response && strstr(call->response, needle) != NULL;
}

/* What to do with a finished transfer. */
enum verdict { VERDICT_DONE, VERDICT_RETRY, VERDICT_FAIL };

static enum verdict judge(struct spotify_client *c, struct call *call, CURLcode code,
                          int64_t deadline, int64_t *pause_until)
{
    int64_t now = now_ms();
    if (code != CURLE_OK) {
        if (call->too_large) {
            call->result = SPOTIFY_ERR_TOO_LARGE;
            snprintf(c->last_error, sizeof c->last_error, "%s answer over %u bytes", call->endpoint,
                     SPOTIFY_MAX_RESPONSE);
            return VERDICT_FAIL;
        }
        long wait = spotify_backoff_ms(call->attempts - 1, next_unit(c));
        if (now + wait >= deadline) {
            call->result = SPOTIFY_ERR_NETWORK;
            snprintf(c->last_error, sizeof c->last_error, "%s: %s", call->endpoint,
                     curl_easy_strerror(code));
            return VERDICT_FAIL;
        }
        call->ready_at = now + wait;
        return VERDICT_RETRY;
    }
    long s = call->http_status;
    if (s >= 200 && s < 300) {
        call->result = SPOTIFY_OK;
        return VERDICT_DONE;
    }
    if (s == 429) {
        if (body_says(call, "QUOTA_EXCEEDED")) {
            call->result = SPOTIFY_ERR_QUOTA;
            note_error(c, call, "quota exceeded");
            return VERDICT_FAIL;
        }
        long wait = spotify_retry_after_ms(call->retry_after, (int64_t)time(NULL));
        if (now + wait >= deadline) {
            call->result = SPOTIFY_ERR_RATE_LIMITED;
            note_error(c, call, "rate limited beyond the retry budget");
            return VERDICT_FAIL;
        }
        call->ready_at = now + wait;
        if (call->ready_at > *pause_until)
            *pause_until = call->ready_at; /* the limit is per app: everyone waits */
        return VERDICT_RETRY;
    }
    if (s >= 500) {
        long wait = spotify_backoff_ms(call->attempts - 1, next_unit(c));
        if (now + wait >= deadline) {
            call->result = SPOTIFY_ERR_UNAVAILABLE;
            note_error(c, call, "server errors until the retry budget ran out");
            return VERDICT_FAIL;
        }
        call->ready_at = now + wait;
        return VERDICT_RETRY;
    }
    if (s == 401 && call->bearer) {
        if (call->token_generation != c->token_generation) {
            call->ready_at = now; /* another call already refreshed: try the new token */
            return VERDICT_RETRY;
        }
        if (c->refreshes >= MAX_REFRESHES || !c->tokens.refresh_token[0]) {
            call->result = SPOTIFY_ERR_UNAUTHORIZED;
            note_error(c, call, "access token refused");
            return VERDICT_FAIL;
        }
        enum spotify_status r = spotify_refresh_locked(c, (int64_t)time(NULL));
        if (r != SPOTIFY_OK) {
            call->result = r;
            return VERDICT_FAIL;
        }
        call->ready_at = now;
        return VERDICT_RETRY;
    }
    if (s == 400 && call->form && body_says(call, "invalid_grant")) {
        call->result = SPOTIFY_ERR_INVALID_GRANT;
        note_error(c, call, "grant refused");
        return VERDICT_FAIL;
    }
    if (s == 403) {
        call->result =
            spotify_classify_403(call->response ? call->response : "", call->response_len);
        note_error(c, call, "forbidden");
        return VERDICT_FAIL;
    }
    if (s == 401) {
        call->result = SPOTIFY_ERR_UNAUTHORIZED;
        note_error(c, call, "unauthorized");
        return VERDICT_FAIL;
    }
    call->result = SPOTIFY_ERR_BAD_REQUEST;
    note_error(c, call, "request rejected");
    return VERDICT_FAIL;
}

/* Starts waiting calls whose time has come while fewer than limit are in flight, and lowers
 * *next_wake to the earliest time a call still waiting may start. Returns 0 or -1. */
static int start_ready(struct spotify_client *c, CURLM *multi, struct call *calls, size_t n,
                       int limit, int *active, int64_t pause_until, int64_t *next_wake)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        struct call *call = &calls[i];
        if (call->state != CALL_WAITING)
            continue;
        int64_t ready = call->ready_at > pause_until ? call->ready_at : pause_until;
        if (ready > now) {
            if (ready < *next_wake)
                *next_wake = ready;
            continue;
        }
        if (*active >= limit)
            continue; /* started when a transfer finishes, which wakes the poll */
        if (call_start(c, multi, call) != 0)
            return -1;
        (*active)++;
    }
    return 0;
}

enum spotify_status spotify_run_calls(struct spotify_client *c, struct call *calls, size_t n,
                                      spotify_on_success_fn on_success, void *ctx)
{
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    CURLM *multi = curl_multi_init();
    if (!multi)
        return SPOTIFY_ERR_INTERNAL;
    int limit = c->settings->connections > 0 ? c->settings->connections : 1;
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)limit);
    int64_t deadline = now_ms() + c->settings->budget_ms;
    int64_t pause_until = 0;
    int64_t next_wake = INT64_MAX;
    size_t done = 0;
    int active = 0;
    if (start_ready(c, multi, calls, n, limit, &active, pause_until, &next_wake) != 0)
        goto done;
    while (done < n) {
        int running = 0;
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            goto done;
        CURLMsg *msg;
        int queued = 0;
        while ((msg = curl_multi_info_read(multi, &queued)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct call *call = NULL;
            CURL *easy = msg->easy_handle;
            CURLcode code = msg->data.result;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &call->http_status);
            curl_off_t took_us = 0;
            long new_connections = 0;
            curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &took_us);
            curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections);
            curl_multi_remove_handle(multi, easy);
            call_release(call);
            active--;
            log_debug("spotify_call",
                      "endpoint=%s status=%ld attempt=%d ms=%.1f new_connections=%ld",
                      call->endpoint, code == CURLE_OK ? call->http_status : 0L, call->attempts,
                      (double)took_us / 1000.0, new_connections);
            if (c->settings->on_call)
                c->settings->on_call(call->endpoint, code == CURLE_OK ? call->http_status : 0);
            enum verdict v = judge(c, call, code, deadline, &pause_until);
            if (v == VERDICT_FAIL) {
                status = call->result;
                goto done;
            }
            if (v == VERDICT_RETRY) {
                call->state = CALL_WAITING;
                continue;
            }
            call->state = CALL_DONE;
            done++;
            if (on_success) {
                enum spotify_status s = on_success(c, call, ctx);
                if (s != SPOTIFY_OK) {
                    status = s;
                    goto done;
                }
            }
        }
        if (done == n)
            break;
        /* Start successors now, so the poll below already waits on their transfers. */
        next_wake = INT64_MAX;
        if (start_ready(c, multi, calls, n, limit, &active, pause_until, &next_wake) != 0)
            goto done;
        int64_t wait = active > 0 ? 100 : next_wake - now_ms();
        if (active > 0 && next_wake != INT64_MAX && next_wake - now_ms() < wait)
            wait = next_wake - now_ms();
        if (wait < 0)
            wait = 0;
        if (wait > 1000)
            wait = 1000;
        if (curl_multi_poll(multi, NULL, 0, (int)wait, NULL) != CURLM_OK)
            goto done;
    }
    status = SPOTIFY_OK;
done:
    for (size_t i = 0; i < n; i++) {
        if (calls[i].easy)
            curl_multi_remove_handle(multi, calls[i].easy);
        call_release(&calls[i]);
    }
    curl_multi_cleanup(multi);
    return status;
}

void spotify_bearer_get(struct call *call, struct spotify_client *c, const char *endpoint,
                        const char *path)
{
    memset(call, 0, sizeof *call);
    call->endpoint = endpoint;
    call->bearer = true;
    snprintf(call->url, sizeof call->url, "%s%s", c->settings->api_base, path);
}

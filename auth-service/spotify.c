/* Talking to Spotify with libcurl and cJSON: see spotify.h. Every call goes through one small
 * engine (run_calls) that keeps at most `connections` transfers in flight on a curl multi,
 * shares one connection cache per client, and decides per answer: done, retry later (429,
 * 5xx, timeout), refresh the token (401), or fail. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

#define MAX_REFRESHES 3 /* per client: a 60 s token may expire more than once in a request */

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

struct spotify_client {
    const struct spotify_settings *settings;
    struct spotify_tokens tokens;
    bool tokens_changed;
    unsigned token_generation;
    int refreshes;
    CURLSH *share; /* connection and DNS cache shared by every transfer of this client */
    uint64_t jitter_state;
    char last_error[256];
};

/* ---- pure helpers ---- */

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

void spotify_paging(size_t total, size_t max_tracks, size_t limit, size_t *to_read, size_t *pages)
{
    size_t n = total < max_tracks ? total : max_tracks;
    *to_read = n;
    *pages = limit == 0 ? 0 : (n + limit - 1) / limit;
    if (*pages == 0)
        *pages = 1; /* the first page is always read: it tells the total */
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

bool spotify_token_ok(const char *token)
{
    size_t n = strlen(token);
    if (n == 0 || n > SESSION_MAX_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
            return false;
    return true;
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

static char *copy_text(const char *s)
{
    size_t len = spotify_utf8_prefix(s, SPOTIFY_MAX_TEXT); /* never half a character */
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

static void track_free(struct saved_track *t)
{
    free(t->name);
    for (uint32_t i = 0; i < t->n_artists; i++)
        free(t->artists[i]);
    memset(t, 0, sizeof *t);
}

static bool is_base62_id(const char *s)
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

/* Fills t from one `track` object. Returns 0, or -1 if it is not a track we can use. */
static int parse_track(const cJSON *track, struct saved_track *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(track, "name");
    if (!cJSON_IsString(name))
        return -1;
    t->name = copy_text(name->valuestring);
    if (!t->name)
        return -1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(track, "id");
    if (cJSON_IsString(id) && is_base62_id(id->valuestring))
        memcpy(t->id, id->valuestring, 23);
    t->is_local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(track, "is_local"));
    const cJSON *artists = cJSON_GetObjectItemCaseSensitive(track, "artists");
    const cJSON *artist;
    cJSON_ArrayForEach(artist, artists)
    {
        const cJSON *artist_name = cJSON_GetObjectItemCaseSensitive(artist, "name");
        if (t->n_artists == SPOTIFY_MAX_ARTISTS || !cJSON_IsString(artist_name))
            continue;
        char *copy = copy_text(artist_name->valuestring);
        if (!copy) {
            track_free(t);
            return -1;
        }
        t->artists[t->n_artists++] = copy;
    }
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(track, "duration_ms");
    if (cJSON_IsNumber(duration) && duration->valuedouble >= 0 && duration->valuedouble < 1e9)
        t->duration_ms = (uint32_t)duration->valuedouble;
    t->explicit_lyrics = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(track, "explicit"));
    const cJSON *album = cJSON_GetObjectItemCaseSensitive(track, "album");
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(album, "release_date");
    if (cJSON_IsString(date) && strlen(date->valuestring) >= 4) {
        unsigned year = 0;
        bool digits = true;
        for (int i = 0; i < 4; i++) {
            char c = date->valuestring[i];
            digits = digits && c >= '0' && c <= '9';
            year = year * 10 + (unsigned)(c - '0');
        }
        if (digits && year >= 1000 && year <= 9999)
            t->year = year;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(track, "external_ids");
    const cJSON *isrc = cJSON_GetObjectItemCaseSensitive(ids, "isrc");
    if (cJSON_IsString(isrc) && strlen(isrc->valuestring) < sizeof t->isrc)
        memcpy(t->isrc, isrc->valuestring, strlen(isrc->valuestring) + 1);
    return 0;
}

enum spotify_status spotify_parse_saved_page(const char *json, size_t len, const char *api_origin,
                                             struct saved_track *tracks, size_t cap,
                                             size_t *n_items, size_t *total)
{
    enum spotify_status status = SPOTIFY_ERR_BAD_RESPONSE;
    size_t used = 0;
    cJSON *page = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(page))
        goto done;
    const cJSON *total_item = cJSON_GetObjectItemCaseSensitive(page, "total");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
    if (!cJSON_IsNumber(total_item) || total_item->valuedouble < 0 ||
        total_item->valuedouble > 1e9 || !cJSON_IsArray(items))
        goto done;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(page, "next");
    if (cJSON_IsString(next) && !spotify_url_on_origin(next->valuestring, api_origin)) {
        status = SPOTIFY_ERR_BAD_HOST;
        goto done;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        if (used == cap)
            break;
        const cJSON *track = cJSON_GetObjectItemCaseSensitive(item, "track");
        if (!cJSON_IsObject(track))
            continue; /* a removed track shows as null: skip it */
        if (parse_track(track, &tracks[used]) == 0)
            used++;
    }
    *n_items = used;
    *total = (size_t)total_item->valuedouble;
    used = 0; /* the caller owns them now */
    status = SPOTIFY_OK;
done:
    for (size_t i = 0; i < used; i++)
        track_free(&tracks[i]);
    cJSON_Delete(page);
    return status;
}

/* ---- the client ---- */

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

enum call_state { CALL_WAITING, CALL_ACTIVE, CALL_DONE };

struct call {
    const char *endpoint; /* metrics label */
    char url[3072];
    bool post;
    char *body;  /* owned; NULL for GET */
    bool form;   /* body is form-encoded (token endpoint), else JSON */
    bool bearer; /* send the access token */
    /* engine state */
    enum call_state state;
    CURL *easy;
    struct curl_slist *headers;
    int attempts;
    int64_t ready_at;
    unsigned token_generation;
    /* answer */
    long http_status;
    char *response;
    size_t response_len;
    bool too_large;
    char retry_after[64];
    enum spotify_status result;
    size_t index; /* the caller's: which page this is */
};

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

static void calls_free(struct call *calls, size_t n)
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
    cJSON *parsed = body ? cJSON_ParseWithLength(body, len) : NULL;
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

static enum spotify_status refresh_locked(struct spotify_client *c, int64_t now);

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
        enum spotify_status r = refresh_locked(c, (int64_t)time(NULL));
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

/* Called for each call that finished with 2xx; a non-OK status stops the batch. */
typedef enum spotify_status (*on_success_fn)(struct spotify_client *c, struct call *call,
                                             void *ctx);

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

/* Runs calls[0..n) with at most settings->connections in flight, retrying within
 * settings->budget_ms. Returns SPOTIFY_OK when every call succeeded (and on_success accepted
 * it), else the first failure; transfers still in flight are abandoned. */
static enum spotify_status run_calls(struct spotify_client *c, struct call *calls, size_t n,
                                     on_success_fn on_success, void *ctx)
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

/* ---- tokens ---- */

static char *form_value(const char *value)
{
    return curl_easy_escape(NULL, value, 0);
}

static enum spotify_status take_tokens(struct spotify_client *c, const struct call *call,
                                       int64_t now)
{
    cJSON *body = cJSON_ParseWithLength(call->response ? call->response : "", call->response_len);
    enum spotify_status status = SPOTIFY_ERR_BAD_RESPONSE;
    const cJSON *access = cJSON_GetObjectItemCaseSensitive(body, "access_token");
    const cJSON *refresh = cJSON_GetObjectItemCaseSensitive(body, "refresh_token");
    const cJSON *expires_in = cJSON_GetObjectItemCaseSensitive(body, "expires_in");
    if (!cJSON_IsString(access) || !spotify_token_ok(access->valuestring)) {
        snprintf(c->last_error, sizeof c->last_error,
                 "token answer without a usable access_token (1..%d bytes of visible ASCII)",
                 SESSION_MAX_TOKEN_LEN);
        goto done;
    }
    if (cJSON_IsString(refresh) && refresh->valuestring[0] &&
        !spotify_token_ok(refresh->valuestring)) {
        snprintf(c->last_error, sizeof c->last_error,
                 "refresh_token is not 1..%d bytes of visible ASCII", SESSION_MAX_TOKEN_LEN);
        goto done;
    }
    snprintf(c->tokens.access_token, sizeof c->tokens.access_token, "%s", access->valuestring);
    if (cJSON_IsString(refresh) && refresh->valuestring[0])
        snprintf(c->tokens.refresh_token, sizeof c->tokens.refresh_token, "%s",
                 refresh->valuestring);
    double lifetime = cJSON_IsNumber(expires_in) ? expires_in->valuedouble : 3600;
    if (!(lifetime >= 1 && lifetime <= 86400))
        lifetime = 3600;
    c->tokens.access_expires = now + (int64_t)lifetime;
    c->tokens_changed = true;
    c->token_generation++;
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    return status;
}

static enum spotify_status token_call(struct spotify_client *c, const char *form, int64_t now)
{
    struct call call = {.endpoint = "token", .post = true, .form = true};
    snprintf(call.url, sizeof call.url, "%s/api/token", c->settings->accounts_base);
    call.body = strdup(form);
    if (!call.body)
        return SPOTIFY_ERR_INTERNAL;
    enum spotify_status status = run_calls(c, &call, 1, NULL, NULL);
    if (status == SPOTIFY_OK)
        status = take_tokens(c, &call, now);
    if (call.body)
        memset(call.body, 0, strlen(call.body));
    calls_free(&call, 1);
    return status;
}

enum spotify_status spotify_exchange_code(struct spotify_client *c, const char *code,
                                          const char *verifier, int64_t now)
{
    char *code_e = form_value(code);
    char *verifier_e = form_value(verifier);
    char *redirect_e = form_value(c->settings->redirect_uri);
    char *client_e = form_value(c->settings->client_id);
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    char *form = NULL;
    if (!code_e || !verifier_e || !redirect_e || !client_e)
        goto done;
    size_t len = strlen(code_e) + strlen(verifier_e) + strlen(redirect_e) + strlen(client_e) + 128;
    form = malloc(len);
    if (!form)
        goto done;
    snprintf(form, len,
             "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&code_verifier=%s",
             code_e, redirect_e, client_e, verifier_e);
    status = token_call(c, form, now);
    memset(form, 0, len);
done:
    free(form);
    curl_free(code_e);
    curl_free(verifier_e);
    curl_free(redirect_e);
    curl_free(client_e);
    return status;
}

static enum spotify_status refresh_locked(struct spotify_client *c, int64_t now)
{
    c->refreshes++;
    char *refresh_e = form_value(c->tokens.refresh_token);
    char *client_e = form_value(c->settings->client_id);
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    char form[3 * SESSION_MAX_TOKEN_LEN + 512];
    if (!refresh_e || !client_e || strlen(refresh_e) + strlen(client_e) + 64 > sizeof form)
        goto done;
    snprintf(form, sizeof form, "grant_type=refresh_token&refresh_token=%s&client_id=%s", refresh_e,
             client_e);
    status = token_call(c, form, now);
    memset(form, 0, sizeof form);
    if (status == SPOTIFY_OK)
        log_info("spotify_refresh", "outcome=ok refreshes=%d", c->refreshes);
    else
        log_warn("spotify_refresh", "outcome=%s", spotify_strerror(status));
done:
    curl_free(refresh_e);
    curl_free(client_e);
    return status;
}

enum spotify_status spotify_refresh(struct spotify_client *c, int64_t now)
{
    if (!c->tokens.refresh_token[0])
        return SPOTIFY_ERR_INVALID_GRANT;
    return refresh_locked(c, now);
}

/* ---- Web API ---- */

static void bearer_get(struct call *call, struct spotify_client *c, const char *endpoint,
                       const char *path)
{
    memset(call, 0, sizeof *call);
    call->endpoint = endpoint;
    call->bearer = true;
    snprintf(call->url, sizeof call->url, "%s%s", c->settings->api_base, path);
}

enum spotify_status spotify_parse_me(const char *json, size_t len, struct spotify_user *out)
{
    enum spotify_status status = SPOTIFY_ERR_BAD_RESPONSE;
    cJSON *body = cJSON_ParseWithLength(json ? json : "", json ? len : 0);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "display_name");
    if (!cJSON_IsString(id) || !id->valuestring[0] ||
        strlen(id->valuestring) > SESSION_MAX_NAME_LEN)
        goto done;
    struct spotify_user user = {0};
    snprintf(user.id, sizeof user.id, "%s", id->valuestring);
    const char *display =
        cJSON_IsString(name) && name->valuestring[0] ? name->valuestring : id->valuestring;
    size_t n = spotify_utf8_prefix(display, SESSION_MAX_NAME_LEN);
    memcpy(user.display_name, display, n);
    user.display_name[n] = '\0';
    *out = user;
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    return status;
}

enum spotify_status spotify_me(struct spotify_client *c, struct spotify_user *out)
{
    struct call call;
    bearer_get(&call, c, "me", "/v1/me");
    enum spotify_status status = run_calls(c, &call, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = spotify_parse_me(call.response, call.response_len, out);
    if (status != SPOTIFY_OK)
        snprintf(c->last_error, sizeof c->last_error, "/v1/me without a usable id");
done:
    calls_free(&call, 1);
    return status;
}

void spotify_library_free(struct saved_library *lib)
{
    if (!lib)
        return;
    for (size_t i = 0; i < lib->count; i++)
        track_free(&lib->tracks[i]);
    free(lib->tracks);
    memset(lib, 0, sizeof *lib);
}

/* Pages land in slots[page * limit ...], so order is kept whatever order they arrive in. */
struct fetch {
    struct saved_track *slots;
    size_t *page_counts; /* tracks parsed per page */
    size_t to_read;
    size_t read;
    spotify_progress_fn progress;
    void *progress_ctx;
};

static enum spotify_status on_page(struct spotify_client *c, struct call *call, void *ctx)
{
    struct fetch *f = ctx;
    size_t first = call->index * SPOTIFY_PAGE_LIMIT;
    size_t cap = f->to_read - first < SPOTIFY_PAGE_LIMIT ? f->to_read - first : SPOTIFY_PAGE_LIMIT;
    size_t n = 0, total = 0;
    enum spotify_status s =
        spotify_parse_saved_page(call->response ? call->response : "", call->response_len,
                                 c->settings->api_origin, f->slots + first, cap, &n, &total);
    if (s != SPOTIFY_OK) {
        snprintf(c->last_error, sizeof c->last_error, "saved tracks page %zu: %s", call->index,
                 spotify_strerror(s));
        return s;
    }
    f->page_counts[call->index] = n;
    f->read += n;
    free(call->response); /* keep memory flat on large libraries */
    call->response = NULL;
    call->response_len = 0;
    if (f->progress)
        f->progress(f->progress_ctx, f->read, f->to_read);
    return SPOTIFY_OK;
}

enum spotify_status spotify_fetch_saved(struct spotify_client *c, struct saved_library *out,
                                        spotify_progress_fn progress, void *progress_ctx)
{
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    struct call first;
    struct call *calls = NULL;
    size_t n_calls = 0;
    struct saved_track head[SPOTIFY_PAGE_LIMIT];
    size_t head_n = 0, total = 0, pages = 0;
    struct fetch f = {.progress = progress, .progress_ctx = progress_ctx};
    char path[128];
    snprintf(path, sizeof path, "/v1/me/tracks?limit=%d&offset=0", SPOTIFY_PAGE_LIMIT);
    bearer_get(&first, c, "saved_tracks", path);
    status = run_calls(c, &first, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = spotify_parse_saved_page(first.response ? first.response : "", first.response_len,
                                      c->settings->api_origin, head, SPOTIFY_PAGE_LIMIT, &head_n,
                                      &total);
    if (status != SPOTIFY_OK) {
        snprintf(c->last_error, sizeof c->last_error, "first saved tracks page: %s",
                 spotify_strerror(status));
        goto done;
    }
    size_t max = c->settings->max_tracks ? c->settings->max_tracks : SPOTIFY_MAX_TRACKS;
    if (max > SPOTIFY_MAX_TRACKS)
        max = SPOTIFY_MAX_TRACKS;
    spotify_paging(total, max, SPOTIFY_PAGE_LIMIT, &f.to_read, &pages);
    if (f.to_read < head_n)
        f.to_read = head_n; /* the library grew after `total` was counted: keep what we have */
    status = SPOTIFY_ERR_INTERNAL;
    f.slots = calloc(f.to_read > 0 ? f.to_read : 1, sizeof *f.slots);
    f.page_counts = calloc(pages, sizeof *f.page_counts);
    n_calls = pages - 1;
    calls = calloc(n_calls > 0 ? n_calls : 1, sizeof *calls);
    if (!f.slots || !f.page_counts || !calls)
        goto done;
    memcpy(f.slots, head, head_n * sizeof *head);
    f.page_counts[0] = head_n;
    f.read = head_n;
    head_n = 0; /* moved into slots */
    if (progress)
        progress(progress_ctx, f.read, f.to_read);
    for (size_t p = 1; p < pages; p++) {
        snprintf(path, sizeof path, "/v1/me/tracks?limit=%d&offset=%zu", SPOTIFY_PAGE_LIMIT,
                 p * SPOTIFY_PAGE_LIMIT);
        bearer_get(&calls[p - 1], c, "saved_tracks", path);
        calls[p - 1].index = p;
    }
    status = run_calls(c, calls, n_calls, on_page, &f);
    if (status != SPOTIFY_OK)
        goto done;
    /* Compact: a page may hold fewer tracks than asked (removed or unusable items). */
    size_t kept = 0;
    for (size_t p = 0; p < pages; p++) {
        size_t from = p * SPOTIFY_PAGE_LIMIT;
        for (size_t i = 0; i < f.page_counts[p]; i++)
            f.slots[kept++] = f.slots[from + i];
    }
    out->tracks = f.slots;
    out->count = kept;
    out->total = total;
    out->truncated = total > max;
    out->pages = (int)pages;
    f.slots = NULL;
done:
    for (size_t i = 0; i < head_n; i++)
        track_free(&head[i]);
    if (f.slots) {
        for (size_t p = 0; p < pages; p++)
            for (size_t i = 0; i < f.page_counts[p]; i++)
                track_free(&f.slots[p * SPOTIFY_PAGE_LIMIT + i]);
        free(f.slots);
    }
    free(f.page_counts);
    calls_free(&first, 1);
    if (calls)
        calls_free(calls, n_calls);
    free(calls);
    return status;
}

static enum spotify_status on_features(struct spotify_client *c, struct call *call, void *ctx)
{
    struct saved_library *lib = ctx;
    cJSON *body = cJSON_ParseWithLength(call->response ? call->response : "", call->response_len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "audio_features");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(body);
        snprintf(c->last_error, sizeof c->last_error, "audio-features answer without a list");
        return SPOTIFY_ERR_BAD_RESPONSE;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "id");
        if (!cJSON_IsString(id))
            continue; /* null: no features for that id */
        for (size_t i = call->index; i < lib->count && i < call->index + 100; i++) {
            struct saved_track *t = &lib->tracks[i];
            if (strcmp(t->id, id->valuestring) != 0)
                continue;
            bool complete = true;
            for (int k = 0; k < SPOTIFY_N_FEATURES; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, spotify_feature_names[k]);
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                    complete = false;
                else
                    t->features[k] = v->valuedouble;
            }
            t->has_features = complete;
        }
    }
    cJSON_Delete(body);
    return SPOTIFY_OK;
}

enum spotify_status spotify_audio_features(struct spotify_client *c, struct saved_library *lib)
{
    size_t n_calls = (lib->count + 99) / 100;
    if (n_calls == 0)
        return SPOTIFY_OK;
    struct call *calls = calloc(n_calls, sizeof *calls);
    if (!calls)
        return SPOTIFY_ERR_INTERNAL;
    size_t used = 0;
    for (size_t start = 0; start < lib->count; start += 100) {
        char path[100 * 23 + 64];
        size_t len = (size_t)snprintf(path, sizeof path, "/v1/audio-features?ids=");
        size_t ids = 0;
        for (size_t i = start; i < lib->count && i < start + 100; i++) {
            if (!lib->tracks[i].id[0])
                continue;
            len += (size_t)snprintf(path + len, sizeof path - len, "%s%s", ids ? "," : "",
                                    lib->tracks[i].id);
            ids++;
        }
        if (ids == 0)
            continue;
        bearer_get(&calls[used], c, "audio_features", "");
        if (strlen(c->settings->api_base) + len >= sizeof calls[used].url) {
            calls_free(calls, used);
            free(calls);
            return SPOTIFY_ERR_INTERNAL;
        }
        snprintf(calls[used].url, sizeof calls[used].url, "%s%s", c->settings->api_base, path);
        calls[used].index = start;
        used++;
    }
    /* Apply features only when every batch succeeded, so a 403 leaves tracks untouched. */
    enum spotify_status status = run_calls(c, calls, used, NULL, NULL);
    for (size_t i = 0; status == SPOTIFY_OK && i < used; i++)
        status = on_features(c, &calls[i], lib);
    if (status == SPOTIFY_ERR_NOT_ALLOWLISTED || status == SPOTIFY_ERR_NO_PREMIUM ||
        status == SPOTIFY_ERR_SCOPE)
        status = SPOTIFY_ERR_FORBIDDEN;
    calls_free(calls, used);
    free(calls);
    return status;
}

enum spotify_status spotify_save_playlist(struct spotify_client *c, const char *name,
                                          const char *description, bool public_playlist,
                                          const char *const *track_ids, size_t n_ids,
                                          char playlist_id[64])
{
    enum spotify_status status = SPOTIFY_ERR_BAD_REQUEST;
    struct call create = {.endpoint = "create_playlist", .post = true, .bearer = true};
    struct call *adds = NULL;
    size_t n_adds = 0;
    cJSON *body = NULL;
    if (n_ids == 0 || n_ids > SPOTIFY_MAX_PLAYLIST) {
        snprintf(c->last_error, sizeof c->last_error, "a playlist holds 1..%u tracks",
                 SPOTIFY_MAX_PLAYLIST);
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (!is_base62_id(track_ids[i])) {
            snprintf(c->last_error, sizeof c->last_error,
                     "track id %zu is not a 22-character Spotify id", i);
            goto done;
        }
    }
    status = SPOTIFY_ERR_INTERNAL;
    snprintf(create.url, sizeof create.url, "%s/v1/me/playlists", c->settings->api_base);
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", name);
    cJSON_AddBoolToObject(body, "public", public_playlist);
    cJSON_AddBoolToObject(body, "collaborative", false);
    cJSON_AddStringToObject(body, "description", description);
    create.body = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    body = NULL;
    if (!create.body)
        goto done;
    status = run_calls(c, &create, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = SPOTIFY_ERR_BAD_RESPONSE;
    body = cJSON_ParseWithLength(create.response ? create.response : "", create.response_len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    if (!cJSON_IsString(id) || strlen(id->valuestring) == 0 || strlen(id->valuestring) >= 64 ||
        strspn(id->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
            strlen(id->valuestring)) {
        snprintf(c->last_error, sizeof c->last_error, "playlist answer without a usable id");
        goto done;
    }
    char new_id[64];
    snprintf(new_id, sizeof new_id, "%s", id->valuestring);
    /* Items in order, one chunk of 100 after the other (order matters in a playlist). */
    status = SPOTIFY_ERR_INTERNAL;
    n_adds = (n_ids + SPOTIFY_ITEMS_PER_ADD - 1) / SPOTIFY_ITEMS_PER_ADD;
    adds = calloc(n_adds, sizeof *adds);
    if (!adds)
        goto done;
    for (size_t a = 0; a < n_adds; a++) {
        struct call *add = &adds[a];
        add->endpoint = "add_items";
        add->post = true;
        add->bearer = true;
        snprintf(add->url, sizeof add->url, "%s/v1/playlists/%s/items", c->settings->api_base,
                 new_id);
        cJSON *items = cJSON_CreateObject();
        cJSON *uris = cJSON_AddArrayToObject(items, "uris");
        for (size_t i = a * SPOTIFY_ITEMS_PER_ADD; i < n_ids && i < (a + 1) * SPOTIFY_ITEMS_PER_ADD;
             i++) {
            char uri[64];
            snprintf(uri, sizeof uri, "spotify:track:%s", track_ids[i]);
            cJSON_AddItemToArray(uris, cJSON_CreateString(uri));
        }
        add->body = cJSON_PrintUnformatted(items);
        cJSON_Delete(items);
        if (!add->body)
            goto done;
        status = run_calls(c, add, 1, NULL, NULL);
        if (status != SPOTIFY_OK)
            goto done;
    }
    snprintf(playlist_id, 64, "%s", new_id);
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    calls_free(&create, 1);
    if (adds)
        calls_free(adds, n_adds);
    free(adds);
    return status;
}

/* The emulator's mutable state behind state_lock: see state.h. */
#include "state.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkce.h"
#include "xalloc.h"

struct emu_code {
    char code[EMU_TOKEN_LEN + 1];
    size_t user_index;
    char client_id[EMU_URI_MAX];
    char redirect_uri[EMU_URI_MAX];
    char scope[EMU_SCOPE_MAX];
    char challenge[EMU_PKCE_CHALLENGE_LEN + 1];
    long long expires_ms;
    bool used;
};

struct emu_token {
    char value[EMU_TOKEN_LEN + 1];
    bool refresh; /* a refresh token; otherwise an access token */
    size_t user_index;
    char client_id[EMU_URI_MAX];
    char scope[EMU_SCOPE_MAX];
    long long expires_ms; /* access tokens only */
    bool revoked;
};

struct emu_playlist {
    char id[EMU_ID_LEN + 1];
    size_t user_index;
    char *name;
    char *description;
    bool is_public, collaborative;
    char **uris;
    size_t n_uris, cap_uris;
    unsigned version;
};

const char *emu_strerror(enum emu_status status)
{
    switch (status) {
    case EMU_OK:
        return "ok";
    case EMU_ERR_CODE_UNKNOWN:
        return "Invalid authorization code";
    case EMU_ERR_CODE_EXPIRED:
        return "Authorization code expired";
    case EMU_ERR_REDIRECT_MISMATCH:
        return "Invalid redirect URI";
    case EMU_ERR_CLIENT_MISMATCH:
        return "Invalid client";
    case EMU_ERR_VERIFIER:
        return "code_verifier was incorrect";
    case EMU_ERR_REFRESH_UNKNOWN:
        return "Invalid refresh token";
    case EMU_ERR_TOKEN_INVALID:
        return "Invalid access token";
    case EMU_ERR_TOKEN_EXPIRED:
        return "The access token expired";
    case EMU_ERR_NOT_FOUND:
        return "Resource not found";
    case EMU_ERR_NOT_OWNER:
        return "You cannot add tracks to a playlist you don't own.";
    case EMU_ERR_FULL:
        return "Storage limit reached";
    case EMU_ERR_POSITION:
        return "Index out of bounds.";
    }
    return "unknown status";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void new_secret(const char *prefix, char out[EMU_TOKEN_LEN + 1])
{
    unsigned char bytes[48];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        abort();
    char encoded[80];
    emu_base64url(bytes, sizeof bytes, encoded);
    snprintf(out, EMU_TOKEN_LEN + 1, "%.2s%.64s", prefix, encoded);
}

#define GROW(array, n, cap)                                                                        \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 64;                                                          \
            (array) = xrealloc((array), (cap) * sizeof *(array));                                  \
        }                                                                                          \
    } while (0)

int emu_config_set_redirect_uris(struct emu_config *config, const char *list, char *err,
                                 size_t err_len)
{
    char uris[EMU_MAX_REDIRECT_URIS][EMU_URI_MAX];
    size_t n = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= EMU_URI_MAX || n == EMU_MAX_REDIRECT_URIS) {
            snprintf(err, err_len, "at most %d URIs of 1..%d bytes each", EMU_MAX_REDIRECT_URIS,
                     EMU_URI_MAX - 1);
            return -1;
        }
        memcpy(uris[n], p, len);
        uris[n][len] = '\0';
        bool loopback = strncmp(uris[n], "http://127.0.0.1", 16) == 0 ||
                        strncmp(uris[n], "http://[::1]", 12) == 0;
        if (strncmp(uris[n], "https://", 8) != 0 && !loopback) {
            snprintf(err, err_len,
                     "'%.200s' is refused, as Spotify refuses it: use https:// or plain http:// on "
                     "a loopback literal such as http://127.0.0.1:8080/callback (not localhost)",
                     uris[n]);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (n == 0) {
        snprintf(err, err_len, "at least one redirect URI is required");
        return -1;
    }
    memcpy(config->redirect_uris, uris, sizeof uris);
    config->n_redirect_uris = n;
    return 0;
}

bool emu_config_redirect_registered(const struct emu_config *config, const char *uri)
{
    for (size_t i = 0; i < config->n_redirect_uris; i++)
        if (strcmp(config->redirect_uris[i], uri) == 0)
            return true;
    return false;
}

void emu_state_init(struct emu_state *state, const struct emu_config *config, uint64_t seed)
{
    memset(state, 0, sizeof *state);
    pthread_mutex_init(&state->state_lock, NULL);
    state->config = *config;
    state->rng = seed ^ 0x5eed5eedull;
}

void emu_state_free(struct emu_state *state)
{
    for (size_t i = 0; i < state->n_playlists; i++) {
        struct emu_playlist *playlist = &state->playlists[i];
        for (size_t k = 0; k < playlist->n_uris; k++)
            free(playlist->uris[k]);
        free(playlist->uris);
        free(playlist->name);
        free(playlist->description);
    }
    free(state->playlists);
    free(state->codes);
    free(state->tokens);
    pthread_mutex_destroy(&state->state_lock);
    memset(state, 0, sizeof *state);
}

void emu_state_get_config(struct emu_state *state, struct emu_config *out)
{
    pthread_mutex_lock(&state->state_lock);
    *out = state->config;
    pthread_mutex_unlock(&state->state_lock);
}

void emu_state_set_config(struct emu_state *state, const struct emu_config *config)
{
    pthread_mutex_lock(&state->state_lock);
    state->config = *config;
    pthread_mutex_unlock(&state->state_lock);
}

/* Drops codes past their expiry and access tokens expired for over ten minutes, so a long run
 * does not grow without bound. Called with state_lock held. */
static void prune(struct emu_state *state, long long now)
{
    size_t kept = 0;
    for (size_t i = 0; i < state->n_codes; i++)
        if (state->codes[i].expires_ms > now)
            state->codes[kept++] = state->codes[i];
    state->n_codes = kept;
    kept = 0;
    for (size_t i = 0; i < state->n_tokens; i++) {
        const struct emu_token *token = &state->tokens[i];
        bool stale = token->revoked || (!token->refresh && token->expires_ms + 600000 < now);
        if (!stale)
            state->tokens[kept++] = *token;
    }
    state->n_tokens = kept;
}

enum emu_status emu_state_issue_code(struct emu_state *state, size_t user_index,
                                     const char *client_id, const char *redirect_uri,
                                     const char *scope, const char *challenge,
                                     char out[EMU_TOKEN_LEN + 1])
{
    enum emu_status status = EMU_ERR_FULL;
    long long now = now_ms();
    pthread_mutex_lock(&state->state_lock);
    if (state->n_codes >= 1024)
        prune(state, now);
    if (state->n_codes >= EMU_MAX_TOKENS)
        goto done;
    GROW(state->codes, state->n_codes, state->cap_codes);
    struct emu_code *code = &state->codes[state->n_codes++];
    memset(code, 0, sizeof *code);
    new_secret("AQ", code->code);
    code->user_index = user_index;
    copy_text(code->client_id, sizeof code->client_id, client_id);
    copy_text(code->redirect_uri, sizeof code->redirect_uri, redirect_uri);
    copy_text(code->scope, sizeof code->scope, scope);
    copy_text(code->challenge, sizeof code->challenge, challenge);
    code->expires_ms = now + state->config.code_lifetime * 1000;
    memcpy(out, code->code, EMU_TOKEN_LEN + 1);
    status = EMU_OK;
done:
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

/* Adds an access and a refresh token for the grant. Called with state_lock held. */
static enum emu_status grant_tokens(struct emu_state *state, size_t user_index,
                                    const char *client_id, const char *scope,
                                    struct emu_grant *grant)
{
    long long now = now_ms();
    if (state->n_tokens + 2 >= 4096 && state->n_tokens % 256 == 0)
        prune(state, now);
    if (state->n_tokens + 2 >= EMU_MAX_TOKENS) {
        prune(state, now);
        if (state->n_tokens + 2 >= EMU_MAX_TOKENS)
            return EMU_ERR_FULL;
    }
    for (int r = 0; r < 2; r++) {
        GROW(state->tokens, state->n_tokens, state->cap_tokens);
        struct emu_token *token = &state->tokens[state->n_tokens++];
        memset(token, 0, sizeof *token);
        token->refresh = r == 1;
        new_secret(token->refresh ? "AQ" : "BQ", token->value);
        token->user_index = user_index;
        copy_text(token->client_id, sizeof token->client_id, client_id);
        copy_text(token->scope, sizeof token->scope, scope);
        token->expires_ms = now + state->config.token_lifetime * 1000;
        if (token->refresh)
            memcpy(grant->refresh_token, token->value, EMU_TOKEN_LEN + 1);
        else
            memcpy(grant->access_token, token->value, EMU_TOKEN_LEN + 1);
    }
    copy_text(grant->scope, sizeof grant->scope, scope);
    grant->expires_in = state->config.token_lifetime;
    return EMU_OK;
}

enum emu_status emu_state_redeem_code(struct emu_state *state, const char *code,
                                      const char *client_id, const char *redirect_uri,
                                      const char *verifier, bool client_authenticated,
                                      struct emu_grant *grant)
{
    enum emu_status status = EMU_ERR_CODE_UNKNOWN;
    long long now = now_ms();
    pthread_mutex_lock(&state->state_lock);
    struct emu_code *found = NULL;
    for (size_t i = 0; i < state->n_codes; i++)
        if (strcmp(state->codes[i].code, code) == 0)
            found = &state->codes[i];
    if (!found || found->used)
        goto done;
    found->used = true;
    status = EMU_ERR_CODE_EXPIRED;
    if (found->expires_ms <= now)
        goto done;
    status = EMU_ERR_CLIENT_MISMATCH;
    if (strcmp(found->client_id, client_id) != 0)
        goto done;
    status = EMU_ERR_REDIRECT_MISMATCH;
    if (strcmp(found->redirect_uri, redirect_uri ? redirect_uri : "") != 0)
        goto done;
    status = EMU_ERR_VERIFIER;
    if (found->challenge[0] != '\0') {
        if (!verifier || !emu_pkce_verify(verifier, found->challenge))
            goto done;
    } else if (!client_authenticated) {
        goto done;
    }
    status = grant_tokens(state, found->user_index, found->client_id, found->scope, grant);
done:
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

enum emu_status emu_state_refresh(struct emu_state *state, const char *refresh_token,
                                  const char *client_id, struct emu_grant *grant)
{
    enum emu_status status = EMU_ERR_REFRESH_UNKNOWN;
    pthread_mutex_lock(&state->state_lock);
    struct emu_token *found = NULL;
    for (size_t i = 0; i < state->n_tokens; i++)
        if (state->tokens[i].refresh && strcmp(state->tokens[i].value, refresh_token) == 0)
            found = &state->tokens[i];
    if (!found || found->revoked)
        goto done;
    status = EMU_ERR_CLIENT_MISMATCH;
    if (strcmp(found->client_id, client_id) != 0)
        goto done;
    found->revoked = true;
    size_t user_index = found->user_index;
    char scope[EMU_SCOPE_MAX], client[EMU_URI_MAX];
    copy_text(scope, sizeof scope, found->scope);
    copy_text(client, sizeof client, found->client_id);
    /* grant_tokens may move the array: found is not used after this point. */
    status = grant_tokens(state, user_index, client, scope, grant);
done:
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

enum emu_status emu_state_check_access(struct emu_state *state, const char *access_token,
                                       size_t *user_index, char scope[EMU_SCOPE_MAX])
{
    enum emu_status status = EMU_ERR_TOKEN_INVALID;
    long long now = now_ms();
    pthread_mutex_lock(&state->state_lock);
    for (size_t i = 0; i < state->n_tokens; i++) {
        const struct emu_token *token = &state->tokens[i];
        if (token->refresh || strcmp(token->value, access_token) != 0)
            continue;
        if (token->revoked)
            break;
        status = EMU_ERR_TOKEN_EXPIRED;
        if (token->expires_ms <= now)
            break;
        *user_index = token->user_index;
        copy_text(scope, EMU_SCOPE_MAX, token->scope);
        status = EMU_OK;
        break;
    }
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

void emu_state_expire_tokens(struct emu_state *state, bool refresh_too)
{
    long long now = now_ms();
    pthread_mutex_lock(&state->state_lock);
    for (size_t i = 0; i < state->n_tokens; i++) {
        struct emu_token *token = &state->tokens[i];
        if (!token->refresh && token->expires_ms > now)
            token->expires_ms = now;
        if (token->refresh && refresh_too)
            token->revoked = true;
    }
    pthread_mutex_unlock(&state->state_lock);
}

static void snapshot_of(const struct emu_playlist *playlist, char snapshot[41])
{
    char text[64];
    snprintf(text, sizeof text, "%u:%s", playlist->version, playlist->id);
    char id[EMU_ID_LEN + 1];
    emu_id_from(text, 0x5A9, id);
    snprintf(snapshot, 41, "%s%08x", id, playlist->version);
}

static struct emu_playlist *find_playlist(struct emu_state *state, const char *id)
{
    for (size_t i = 0; i < state->n_playlists; i++)
        if (strcmp(state->playlists[i].id, id) == 0)
            return &state->playlists[i];
    return NULL;
}

enum emu_status emu_state_create_playlist(struct emu_state *state, size_t user_index,
                                          const char *name, const char *description, bool is_public,
                                          bool collaborative, char id[EMU_ID_LEN + 1],
                                          char snapshot[41])
{
    enum emu_status status = EMU_ERR_FULL;
    pthread_mutex_lock(&state->state_lock);
    if (state->n_playlists >= EMU_MAX_PLAYLISTS)
        goto done;
    GROW(state->playlists, state->n_playlists, state->cap_playlists);
    struct emu_playlist *playlist = &state->playlists[state->n_playlists++];
    memset(playlist, 0, sizeof *playlist);
    char seed_text[64];
    snprintf(seed_text, sizeof seed_text, "playlist-%zu", state->n_playlists);
    emu_id_from(seed_text, emu_random_next(&state->rng), playlist->id);
    playlist->user_index = user_index;
    playlist->name = xstrdup(name);
    playlist->description = xstrdup(description ? description : "");
    playlist->is_public = is_public;
    playlist->collaborative = collaborative;
    playlist->version = 1;
    memcpy(id, playlist->id, EMU_ID_LEN + 1);
    snapshot_of(playlist, snapshot);
    status = EMU_OK;
done:
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

enum emu_status emu_state_add_items(struct emu_state *state, size_t user_index,
                                    const char *playlist_id, const char *const *uris, size_t n,
                                    long long position, char snapshot[41])
{
    enum emu_status status = EMU_ERR_NOT_FOUND;
    pthread_mutex_lock(&state->state_lock);
    struct emu_playlist *playlist = find_playlist(state, playlist_id);
    if (!playlist)
        goto done;
    status = EMU_ERR_NOT_OWNER;
    if (playlist->user_index != user_index && !playlist->collaborative)
        goto done;
    status = EMU_ERR_POSITION;
    if (position > (long long)playlist->n_uris)
        goto done;
    if (position == EMU_REPLACE_ITEMS) {
        for (size_t i = 0; i < playlist->n_uris; i++)
            free(playlist->uris[i]);
        playlist->n_uris = 0;
        position = -1;
    }
    status = EMU_ERR_FULL;
    if (playlist->n_uris + n > EMU_PLAYLIST_MAX)
        goto done;
    if (playlist->n_uris + n > playlist->cap_uris) {
        size_t cap = playlist->cap_uris ? playlist->cap_uris : 64;
        while (cap < playlist->n_uris + n)
            cap *= 2;
        playlist->uris = xrealloc(playlist->uris, cap * sizeof(char *));
        playlist->cap_uris = cap;
    }
    size_t at = position < 0 ? playlist->n_uris : (size_t)position;
    memmove(&playlist->uris[at + n], &playlist->uris[at], (playlist->n_uris - at) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        playlist->uris[at + i] = xstrdup(uris[i]);
    }
    playlist->n_uris += n;
    playlist->version++;
    snapshot_of(playlist, snapshot);
    status = EMU_OK;
done:
    pthread_mutex_unlock(&state->state_lock);
    return status;
}

static cJSON *control_json(const struct emu_playlist *playlist, const struct emu_library *library)
{
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "id", playlist->id);
    cJSON_AddStringToObject(object, "user", library->users[playlist->user_index].id);
    cJSON_AddStringToObject(object, "name", playlist->name);
    cJSON_AddBoolToObject(object, "public", playlist->is_public);
    cJSON_AddBoolToObject(object, "collaborative", playlist->collaborative);
    cJSON_AddStringToObject(object, "description", playlist->description);
    char snapshot[41];
    snapshot_of(playlist, snapshot);
    cJSON_AddStringToObject(object, "snapshot_id", snapshot);
    cJSON *uris = cJSON_AddArrayToObject(object, "uris");
    for (size_t i = 0; i < playlist->n_uris; i++)
        cJSON_AddItemToArray(uris, cJSON_CreateString(playlist->uris[i]));
    return object;
}

cJSON *emu_state_playlists_json(struct emu_state *state, const struct emu_library *library,
                                size_t user_index)
{
    cJSON *array = cJSON_CreateArray();
    pthread_mutex_lock(&state->state_lock);
    for (size_t i = 0; i < state->n_playlists; i++)
        if (user_index == SIZE_MAX || state->playlists[i].user_index == user_index)
            cJSON_AddItemToArray(array, control_json(&state->playlists[i], library));
    pthread_mutex_unlock(&state->state_lock);
    return array;
}

cJSON *emu_state_playlist_json(struct emu_state *state, const struct emu_library *library,
                               const char *playlist_id, const char *base_url)
{
    cJSON *object = NULL;
    pthread_mutex_lock(&state->state_lock);
    const struct emu_playlist *playlist = find_playlist(state, playlist_id);
    if (!playlist)
        goto done;
    const struct emu_user *owner = &library->users[playlist->user_index];
    char text[1024], snapshot[41];
    object = cJSON_CreateObject();
    cJSON_AddBoolToObject(object, "collaborative", playlist->collaborative);
    cJSON_AddStringToObject(object, "description", playlist->description);
    cJSON *external = cJSON_AddObjectToObject(object, "external_urls");
    snprintf(text, sizeof text, "https://open.spotify.com/playlist/%s", playlist->id);
    cJSON_AddStringToObject(external, "spotify", text);
    snprintf(text, sizeof text, "%s/v1/playlists/%s", base_url, playlist->id);
    cJSON_AddStringToObject(object, "href", text);
    cJSON_AddStringToObject(object, "id", playlist->id);
    cJSON_AddArrayToObject(object, "images");
    cJSON_AddStringToObject(object, "name", playlist->name);
    cJSON *who = cJSON_AddObjectToObject(object, "owner");
    cJSON_AddStringToObject(who, "display_name", owner->display_name);
    cJSON *who_urls = cJSON_AddObjectToObject(who, "external_urls");
    snprintf(text, sizeof text, "https://open.spotify.com/user/%s", owner->id);
    cJSON_AddStringToObject(who_urls, "spotify", text);
    snprintf(text, sizeof text, "%s/v1/users/%s", base_url, owner->id);
    cJSON_AddStringToObject(who, "href", text);
    cJSON_AddStringToObject(who, "id", owner->id);
    cJSON_AddStringToObject(who, "type", "user");
    snprintf(text, sizeof text, "spotify:user:%s", owner->id);
    cJSON_AddStringToObject(who, "uri", text);
    cJSON_AddBoolToObject(object, "public", playlist->is_public);
    snapshot_of(playlist, snapshot);
    cJSON_AddStringToObject(object, "snapshot_id", snapshot);
    cJSON *items = cJSON_AddObjectToObject(object, "items");
    snprintf(text, sizeof text, "%s/v1/playlists/%s/items", base_url, playlist->id);
    cJSON_AddStringToObject(items, "href", text);
    cJSON_AddNumberToObject(items, "total", (double)playlist->n_uris);
    cJSON_AddStringToObject(object, "type", "playlist");
    snprintf(text, sizeof text, "spotify:playlist:%s", playlist->id);
    cJSON_AddStringToObject(object, "uri", text);
done:
    pthread_mutex_unlock(&state->state_lock);
    return object;
}

enum emu_fault emu_state_draw_fault(struct emu_state *state, struct emu_config *config)
{
    enum emu_fault fault = EMU_FAULT_NONE;
    pthread_mutex_lock(&state->state_lock);
    *config = state->config;
    double roll = (double)(emu_random_next(&state->rng) >> 11) / 9007199254740992.0;
    if (state->config.quota_exceeded)
        fault = EMU_FAULT_QUOTA;
    else if (roll < state->config.rate_429)
        fault = EMU_FAULT_RATE_LIMIT;
    else if (roll < state->config.rate_429 + state->config.rate_5xx)
        fault = EMU_FAULT_SERVER;
    pthread_mutex_unlock(&state->state_lock);
    return fault;
}

void emu_state_count(struct emu_state *state, const char *endpoint, int status)
{
    pthread_mutex_lock(&state->state_lock);
    size_t i = 0;
    while (i < state->n_stats &&
           !(state->stats[i].status == status && strcmp(state->stats[i].endpoint, endpoint) == 0))
        i++;
    if (i == state->n_stats && i < sizeof state->stats / sizeof state->stats[0]) {
        copy_text(state->stats[i].endpoint, sizeof state->stats[i].endpoint, endpoint);
        state->stats[i].status = status;
        state->stats[i].count = 0;
        state->n_stats++;
    }
    if (i < state->n_stats)
        state->stats[i].count++;
    pthread_mutex_unlock(&state->state_lock);
}

cJSON *emu_state_stats_json(struct emu_state *state)
{
    cJSON *object = cJSON_CreateObject();
    cJSON *requests = cJSON_AddArrayToObject(object, "requests");
    unsigned long long total = 0;
    pthread_mutex_lock(&state->state_lock);
    for (size_t i = 0; i < state->n_stats; i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "endpoint", state->stats[i].endpoint);
        cJSON_AddNumberToObject(row, "status", state->stats[i].status);
        cJSON_AddNumberToObject(row, "count", (double)state->stats[i].count);
        cJSON_AddItemToArray(requests, row);
        total += state->stats[i].count;
    }
    pthread_mutex_unlock(&state->state_lock);
    cJSON_AddNumberToObject(object, "total", (double)total);
    return object;
}

/* The Spotify client's tokens (spotify.h): the authorization-code exchange (PKCE) and the
 * refresh, both POSTs to the Accounts service's /api/token, and the checks on what it answers. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "json_limit.h"
#include "spotify_call.h"

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

static char *form_value(const char *value)
{
    return curl_easy_escape(NULL, value, 0);
}

static enum spotify_status take_tokens(struct spotify_client *c, const struct call *call,
                                       int64_t now)
{
    cJSON *body = json_parse_limited(call->response ? call->response : "", call->response_len,
                                     JSON_MAX_DEPTH, NULL);
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
    enum spotify_status status = spotify_run_calls(c, &call, 1, NULL, NULL);
    if (status == SPOTIFY_OK)
        status = take_tokens(c, &call, now);
    if (call.body)
        memset(call.body, 0, strlen(call.body));
    spotify_calls_free(&call, 1);
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

enum spotify_status spotify_refresh_locked(struct spotify_client *c, int64_t now)
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
    return spotify_refresh_locked(c, now);
}

/* The signed-in side of a request (signed_in.h): the session from its cookie, a Spotify client
 * with the session's tokens, the refresh ahead of expiry, and the cookie re-issued when a
 * refresh changed the tokens. No token or cookie value is ever logged. */
#include "signed_in.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "revoked.h"

/* Loads the signed-in session. False means signed out (a bad cookie is also cleared). */
bool signed_in_load_session(struct request *r, struct session *s)
{
    char *value = malloc(SESSION_MAX_COOKIE_LEN + 2);
    if (!value)
        return false;
    int n = request_read_cookie(r, SESSION_COOKIE, value, SESSION_MAX_COOKIE_LEN + 2);
    bool ok = false;
    if (n > 0) {
        enum session_status st = session_decode(&r->app->cfg->keys, value, (size_t)n, r->now, s);
        ok = st == SESSION_OK;
        if (!ok) {
            log_info("session_rejected", "reason=\"%s\"", session_strerror(st));
            request_clear_cookie(r, SESSION_COOKIE);
        } else if (revoked_contains(&r->app->revoked, s->sid, r->now)) {
            ok = false;
            log_info("session_rejected", "reason=\"signed out\"");
            request_clear_cookie(r, SESSION_COOKIE);
        } else {
            struct spotify_tokens newer;
            if (renewed_take(&r->app->renewed, s->sid, s->refresh_token, r->now, &newer)) {
                signed_in_store_session(r, s, &newer); /* refreshed while /mix streamed */
                OPENSSL_cleanse(&newer, sizeof newer);
            } else if (s->fresh_until - r->now < r->app->cfg->session_idle_minutes * 30) {
                signed_in_reseal(r, s); /* sliding: past half its idle time */
            }
        }
    } else if (n == -1) {
        char name[SESSION_COOKIE_NAME_SIZE];
        session_cookie_name(SESSION_COOKIE, r->app->cfg->secure_cookies, name);
        if (request_find_cookie(r, name)) {
            log_info("session_rejected", "reason=\"cookie over %d bytes\"", SESSION_MAX_COOKIE_LEN);
            request_clear_cookie(r, SESSION_COOKIE);
        }
    }
    /* Behind https, a session cookie under the bare name (set before the __Host- prefix, or
     * planted by a sibling host or a plain-http page) is never read, only cleared. */
    if (r->app->cfg->secure_cookies && request_find_cookie(r, SESSION_COOKIE)) {
        log_info("session_rejected", "reason=\"cookie without the %s prefix\"",
                 SESSION_HOST_PREFIX);
        request_add_cookie_named(r, SESSION_COOKIE, "", 0);
    }
    OPENSSL_cleanse(value, SESSION_MAX_COOKIE_LEN + 2);
    free(value);
    return ok;
}

void signed_in_reseal(struct request *r, struct session *s)
{
    int64_t fresh = r->now + r->app->cfg->session_idle_minutes * 60;
    s->fresh_until = fresh < s->expires ? fresh : s->expires;
    char *cookie = NULL;
    enum session_status st = session_encode(&r->app->cfg->keys, s, &cookie);
    if (st != SESSION_OK) {
        log_error("session_store_failed", "reason=\"%s\"", session_strerror(st));
        return;
    }
    request_add_cookie(r, SESSION_COOKIE, cookie, (long)(s->expires - r->now));
    OPENSSL_cleanse(cookie, strlen(cookie));
    free(cookie);
}

/* Re-issues the session cookie with the client's newest tokens. */
void signed_in_store_session(struct request *r, struct session *s, const struct spotify_tokens *t)
{
    snprintf(s->access_token, sizeof s->access_token, "%s", t->access_token);
    snprintf(s->refresh_token, sizeof s->refresh_token, "%s", t->refresh_token);
    s->access_expires = t->access_expires;
    signed_in_reseal(r, s);
}

struct spotify_client *signed_in_client(struct request *r, const struct session *s)
{
    struct spotify_tokens tokens = {0};
    if (s) {
        snprintf(tokens.access_token, sizeof tokens.access_token, "%s", s->access_token);
        snprintf(tokens.refresh_token, sizeof tokens.refresh_token, "%s", s->refresh_token);
        tokens.access_expires = s->access_expires;
    }
    struct spotify_client *c = spotify_client_new(&r->app->spotify, &tokens);
    OPENSSL_cleanse(&tokens, sizeof tokens);
    return c;
}

/* Refreshes ahead of time when the access token ends within two minutes, so a long read
 * rarely meets a 401 after the page's headers (and cookie) are gone. */
enum spotify_status signed_in_refresh_if_due(struct request *r, struct spotify_client *c,
                                             struct session *s)
{
    if (s->access_expires - r->now > 120)
        return SPOTIFY_OK;
    enum spotify_status st = spotify_refresh(c, r->now);
    if (st == SPOTIFY_OK)
        signed_in_store_session(r, s, spotify_tokens(c));
    return st;
}

enum signed_in_status signed_in_begin(struct request *r, struct signed_in *si)
{
    memset(si, 0, sizeof *si);
    si->session = calloc(1, sizeof *si->session);
    if (!si->session)
        return SIGNED_IN_ERR_INTERNAL;
    return signed_in_load_session(r, si->session) ? SIGNED_IN_OK : SIGNED_IN_NO_SESSION;
}

enum signed_in_status signed_in_connect(struct request *r, struct signed_in *si)
{
    si->client = signed_in_client(r, si->session);
    if (!si->client)
        return SIGNED_IN_ERR_INTERNAL;
    enum spotify_status st = signed_in_refresh_if_due(r, si->client, si->session);
    if (st != SPOTIFY_OK) {
        si->error = pages_error_of_spotify(st);
        snprintf(si->detail, sizeof si->detail, "%s", spotify_last_error(si->client));
        return SIGNED_IN_ERR_SPOTIFY;
    }
    return SIGNED_IN_OK;
}

void signed_in_keep_tokens(struct request *r, struct signed_in *si)
{
    if (si->client && spotify_tokens_changed(si->client))
        signed_in_store_session(r, si->session, spotify_tokens(si->client));
}

void signed_in_end(struct signed_in *si)
{
    if (si->session) {
        OPENSSL_cleanse(si->session, sizeof *si->session);
        free(si->session);
    }
    spotify_client_free(si->client);
    memset(si, 0, sizeof *si);
}

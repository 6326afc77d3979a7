/* Sign-in routes (route_handlers.h): GET /login starts the PKCE authorization, GET /callback
 * checks the state, exchanges the code and opens the session, POST /logout ends it. No token,
 * code or cookie value is ever logged or put in a URL we build. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pkce.h"
#include "revoked.h"
#include "route_handlers.h"
#include "session.h"
#include "signed_in.h"

static const char SCOPES[] = "user-library-read playlist-modify-private";

static const char SCOPES_PUBLIC[] = "user-library-read playlist-modify-private "
                                    "playlist-modify-public";

void handle_login(struct request *r)
{
    const struct auth_config *cfg = r->app->cfg;
    struct login_state l = {.expires = r->now + cfg->login_minutes * 60};
    char challenge[PKCE_CHALLENGE_LEN + 1];
    if (pkce_new_state(l.state) != PKCE_OK || pkce_new_verifier(l.verifier) != PKCE_OK ||
        pkce_challenge(l.verifier, challenge) != PKCE_OK) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, "no randomness available");
        return;
    }
    char *cookie = NULL;
    if (login_encode(&cfg->keys, &l, &cookie) != SESSION_OK) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        return;
    }
    request_add_cookie(r, LOGIN_COOKIE, cookie, (long)(cfg->login_minutes * 60));
    free(cookie);
    char *client = curl_easy_escape(NULL, cfg->client_id, 0);
    char *redirect = curl_easy_escape(NULL, cfg->redirect_uri, 0);
    char *scope = curl_easy_escape(NULL, cfg->public_playlists ? SCOPES_PUBLIC : SCOPES, 0);
    char location[3072];
    snprintf(location, sizeof location,
             "%s/authorize?client_id=%s&response_type=code&redirect_uri=%s&scope=%s&state=%s"
             "&code_challenge_method=S256&code_challenge=%s",
             cfg->accounts_base, client ? client : "", redirect ? redirect : "", scope ? scope : "",
             l.state, challenge);
    curl_free(client);
    curl_free(redirect);
    curl_free(scope);
    OPENSSL_cleanse(&l, sizeof l);
    log_info("login_started", "redirect_uri=%s", cfg->redirect_uri);
    request_send_redirect(r, 302, location);
}

void handle_callback(struct request *r)
{
    const struct auth_config *cfg = r->app->cfg;
    char state[128] = "", error[64] = "", *code = malloc(2048);
    char *login_cookie = malloc(SESSION_MAX_COOKIE_LEN + 2);
    struct login_state l = {0};
    struct spotify_client *client = NULL;
    struct session *s = calloc(1, sizeof *s);
    if (!code || !login_cookie || !s) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    code[0] = '\0';
    request_clear_cookie(r, LOGIN_COOKIE); /* one use only, whatever happens next */
    int n_state = request_query_value(r, "state", state, sizeof state);
    int n_error = request_query_value(r, "error", error, sizeof error);
    int n_code = request_query_value(r, "code", code, 2048);
    int n_cookie = request_read_cookie(r, LOGIN_COOKIE, login_cookie, SESSION_MAX_COOKIE_LEN + 2);
    enum session_status ls =
        n_cookie > 0 ? login_decode(&cfg->keys, login_cookie, (size_t)n_cookie, r->now, &l)
                     : SESSION_ERR_FORMAT;
    if (n_error > 0) {
        log_info("login_finished", "outcome=denied error=%s",
                 strcmp(error, "access_denied") == 0 ? "access_denied" : "other");
        request_send_error_page(
            r, strcmp(error, "access_denied") == 0 ? PAGE_ERR_DENIED : PAGE_ERR_STATE, NULL);
        goto done;
    }
    if (ls != SESSION_OK || n_state <= 0 || strlen(state) != strlen(l.state) ||
        CRYPTO_memcmp(state, l.state, strlen(state)) != 0) {
        log_info("login_finished", "outcome=state_mismatch reason=\"%s\"",
                 ls != SESSION_OK ? session_strerror(ls) : "state differs");
        request_send_error_page(r, PAGE_ERR_STATE, NULL);
        goto done;
    }
    if (n_code <= 0) {
        log_info("login_finished", "outcome=no_code");
        request_send_error_page(r, PAGE_ERR_CODE, "Spotify sent no code (or one over 2047 bytes).");
        goto done;
    }
    client = signed_in_client(r, NULL);
    if (!client) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    enum spotify_status st = spotify_exchange_code(client, code, l.verifier, r->now);
    if (st != SPOTIFY_OK) {
        log_info("login_finished", "outcome=exchange_failed reason=\"%s\"", spotify_strerror(st));
        enum page_error pe = st == SPOTIFY_ERR_INVALID_GRANT || st == SPOTIFY_ERR_BAD_REQUEST
                                 ? PAGE_ERR_CODE
                                 : pages_error_of_spotify(st);
        request_send_error_page(r, pe, spotify_last_error(client));
        goto done;
    }
    struct spotify_user user;
    st = spotify_me(client, &user);
    if (st != SPOTIFY_OK) {
        log_info("login_finished", "outcome=profile_failed reason=\"%s\"", spotify_strerror(st));
        request_send_error_page(r, pages_error_of_spotify(st), spotify_last_error(client));
        goto done;
    }
    snprintf(s->user_id, sizeof s->user_id, "%s", user.id);
    snprintf(s->display_name, sizeof s->display_name, "%s", user.display_name);
    s->expires = r->now + cfg->session_hours * 3600;
    if (session_new_sid(s->sid) != 0) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, "no random session id");
        goto done;
    }
    signed_in_store_session(r, s, spotify_tokens(client));
    log_info("login_finished", "outcome=ok");
    request_send_redirect(r, 303, "/mix");
done:
    if (code)
        OPENSSL_cleanse(code, 2048);
    if (login_cookie)
        OPENSSL_cleanse(login_cookie, SESSION_MAX_COOKIE_LEN + 2);
    OPENSSL_cleanse(&l, sizeof l);
    if (s)
        OPENSSL_cleanse(s, sizeof *s);
    free(code);
    free(login_cookie);
    free(s);
    spotify_client_free(client);
}

void handle_logout(struct request *r)
{
    if (!request_same_site(r)) {
        request_send_body(r, 403, "text/plain; charset=utf-8", "cross-site sign-out refused\n", 28);
        return;
    }
    /* The cookie's session id is remembered as signed out on this front until the session
     * would have ended, so a copy of the cookie stops working too (revoked.h). */
    struct session *s = calloc(1, sizeof *s);
    bool had_session = s && signed_in_load_session(r, s);
    if (had_session)
        revoked_add(&r->app->revoked, s->sid, s->expires, r->now);
    if (s) {
        OPENSSL_cleanse(s, sizeof *s);
        free(s);
    }
    request_clear_cookie(r, SESSION_COOKIE);
    request_clear_cookie(r, LOGIN_COOKIE);
    log_info("logout", "outcome=ok revoked=%s", had_session ? "true" : "false");
    request_send_redirect(r, 303, "/");
}

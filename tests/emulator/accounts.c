/* The emulated Accounts service: the consent page at /authorize and the token endpoint, with
 * Spotify's checks (registered client id, exact redirect URI, PKCE S256, single-use expiring
 * codes, refresh-token rotation) and its error shapes. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "pkce.h"
#include "server.h"
#include "xalloc.h"

#define PAGE_LIMIT 32768

/* The scopes Spotify knows; anything else is invalid_scope. */
static const char *const KNOWN_SCOPES[] = {
    "ugc-image-upload",
    "user-read-playback-state",
    "user-modify-playback-state",
    "user-read-currently-playing",
    "app-remote-control",
    "streaming",
    "playlist-read-private",
    "playlist-read-collaborative",
    "playlist-modify-private",
    "playlist-modify-public",
    "user-follow-modify",
    "user-follow-read",
    "user-read-playback-position",
    "user-top-read",
    "user-read-recently-played",
    "user-library-modify",
    "user-library-read",
    "user-read-email",
    "user-read-private",
};

/* The parameters of an authorization request, each bounded. */
struct authorize_request {
    char client_id[EMU_URI_MAX];
    char response_type[32];
    char redirect_uri[EMU_URI_MAX];
    char state[EMU_URI_MAX];
    char scope[EMU_SCOPE_MAX];
    char code_challenge_method[16];
    char code_challenge[64];
    char user[64];
    char decision[16];
    bool has_state;
};

static void append(char *page, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *page, size_t size, const char *fmt, ...)
{
    size_t used = strlen(page);
    if (used + 1 >= size)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(page + used, size - used, fmt, args);
    va_end(args);
}

static int send_page(struct mg_connection *conn, int status, const char *title, const char *message)
{
    char *page = xcalloc(1, PAGE_LIMIT);
    char escaped[2048] = "";
    emu_http_html_escape(escaped, sizeof escaped, message);
    append(page, PAGE_LIMIT,
           "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>"
           "</head><body><h1>%s</h1><p id=\"error\">%s</p></body></html>",
           title, title, escaped);
    emu_http_send(conn, status, "text/html; charset=utf-8", page, strlen(page), NULL);
    free(page);
    return status;
}

/* Reads one bounded parameter. Returns 0, or -1 after answering 400 naming the field. */
static int read_param(struct mg_connection *conn, const char *data, size_t len, const char *name,
                      char *dst, size_t dst_len, bool *present)
{
    dst[0] = '\0';
    int n = emu_http_param(data, len, name, dst, dst_len);
    if (present)
        *present = n >= 0;
    if (n == -2) {
        char message[160];
        snprintf(message, sizeof message, "INVALID_REQUEST: parameter %s is longer than %zu bytes",
                 name, dst_len - 1);
        send_page(conn, 400, "Error", message);
        return -1;
    }
    if (n < 0)
        dst[0] = '\0';
    return 0;
}

static int parse_authorize(struct mg_connection *conn, const char *data, size_t len,
                           struct authorize_request *request)
{
    memset(request, 0, sizeof *request);
    if (read_param(conn, data, len, "client_id", request->client_id, sizeof request->client_id,
                   NULL) ||
        read_param(conn, data, len, "response_type", request->response_type,
                   sizeof request->response_type, NULL) ||
        read_param(conn, data, len, "redirect_uri", request->redirect_uri,
                   sizeof request->redirect_uri, NULL) ||
        read_param(conn, data, len, "state", request->state, sizeof request->state,
                   &request->has_state) ||
        read_param(conn, data, len, "scope", request->scope, sizeof request->scope, NULL) ||
        read_param(conn, data, len, "code_challenge_method", request->code_challenge_method,
                   sizeof request->code_challenge_method, NULL) ||
        read_param(conn, data, len, "code_challenge", request->code_challenge,
                   sizeof request->code_challenge, NULL) ||
        read_param(conn, data, len, "user", request->user, sizeof request->user, NULL) ||
        read_param(conn, data, len, "decision", request->decision, sizeof request->decision, NULL))
        return -1;
    return 0;
}

/* Answers 302 to the client's redirect URI with key=value pairs (NULL-terminated). */
static int redirect_back(struct mg_connection *conn, const struct authorize_request *request,
                         const char *const *pairs)
{
    char location[4096];
    snprintf(location, sizeof location, "%s", request->redirect_uri);
    char separator = strchr(location, '?') ? '&' : '?';
    for (size_t i = 0; pairs[i] && pairs[i + 1]; i += 2) {
        size_t used = strlen(location);
        snprintf(location + used, sizeof location - used, "%c%s=", separator, pairs[i]);
        emu_http_url_encode(location, sizeof location, pairs[i + 1]);
        separator = '&';
    }
    if (request->has_state) {
        size_t used = strlen(location);
        snprintf(location + used, sizeof location - used, "%cstate=", separator);
        emu_http_url_encode(location, sizeof location, request->state);
    }
    const char *headers[] = {"Location", location, NULL};
    return emu_http_send(conn, 302, "text/plain", "", 0, headers);
}

static bool scope_known(const char *scope, size_t len)
{
    for (size_t i = 0; i < sizeof KNOWN_SCOPES / sizeof KNOWN_SCOPES[0]; i++)
        if (strlen(KNOWN_SCOPES[i]) == len && strncmp(KNOWN_SCOPES[i], scope, len) == 0)
            return true;
    return false;
}

/* Checks what Spotify checks before showing the dialog. Returns 0, or the status it answered. */
static int check_authorize(struct emu_server *server, struct mg_connection *conn,
                           const struct authorize_request *request)
{
    if (strcmp(request->client_id, server->client_id) != 0)
        return send_page(conn, 400, "Error", "INVALID_CLIENT: Invalid client");
    struct emu_config config;
    emu_state_get_config(&server->state, &config);
    if (!emu_config_redirect_registered(&config, request->redirect_uri))
        return send_page(conn, 400, "Error", "INVALID_CLIENT: Invalid redirect URI");
    if (strcmp(request->response_type, "code") != 0) {
        const char *pairs[] = {"error", "unsupported_response_type", NULL};
        return redirect_back(conn, request, pairs);
    }
    const char *bad = NULL;
    if (request->code_challenge[0] || request->code_challenge_method[0]) {
        if (strcmp(request->code_challenge_method, "S256") != 0)
            bad = "code_challenge_method must be S256";
        else if (!emu_pkce_challenge_valid(request->code_challenge))
            bad = "code_challenge must be 43 base64url characters";
    }
    if (bad) {
        const char *pairs[] = {"error", "invalid_request", "error_description", bad, NULL};
        return redirect_back(conn, request, pairs);
    }
    for (const char *p = request->scope; *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0 && !scope_known(p, len)) {
            const char *pairs[] = {"error", "invalid_scope", NULL};
            return redirect_back(conn, request, pairs);
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    return 0;
}

static void hidden_field(char *page, const char *name, const char *value)
{
    char escaped[2048] = "";
    emu_http_html_escape(escaped, sizeof escaped, value);
    append(page, PAGE_LIMIT, "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n", name, escaped);
}

static int consent_page(struct emu_server *server, struct mg_connection *conn,
                        const struct authorize_request *request)
{
    char *page = xcalloc(1, PAGE_LIMIT);
    char client[1024] = "", target[1024] = "";
    emu_http_html_escape(client, sizeof client, request->client_id);
    emu_http_html_escape(target, sizeof target, request->redirect_uri);
    append(page, PAGE_LIMIT,
           "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<title>Spotify (emulator): authorize access</title>"
           "<style>body{font-family:sans-serif;max-width:34rem;margin:3rem auto;line-height:1.5}"
           "button{font-size:1rem;padding:.4rem 1.2rem;margin-right:1rem}</style></head>\n"
           "<body><h1>Authorize access</h1>\n<p>The app <code id=\"client\">%s</code> asks "
           "to:</p>\n<ul id=\"scopes\">",
           client);
    for (const char *p = request->scope; *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0 && len < 64)
            append(page, PAGE_LIMIT, "<li>%.*s</li>", (int)len, p);
        p += len;
        while (*p == ' ')
            p++;
    }
    append(page, PAGE_LIMIT,
           "</ul>\n<p>You will be sent back to <code>%s</code>.</p>\n"
           "<form method=\"post\" action=\"/authorize\">\n",
           target);
    hidden_field(page, "client_id", request->client_id);
    hidden_field(page, "response_type", request->response_type);
    hidden_field(page, "redirect_uri", request->redirect_uri);
    if (request->has_state)
        hidden_field(page, "state", request->state);
    hidden_field(page, "scope", request->scope);
    if (request->code_challenge[0]) {
        hidden_field(page, "code_challenge_method", request->code_challenge_method);
        hidden_field(page, "code_challenge", request->code_challenge);
    }
    append(page, PAGE_LIMIT,
           "<p><label for=\"user\">Sign in as</label>\n<select id=\"user\" "
           "name=\"user\">\n");
    for (size_t u = 0; u < server->library.n_users; u++) {
        const struct emu_user *user = &server->library.users[u];
        append(page, PAGE_LIMIT, "<option value=\"%s\"%s>%s (%zu saved tracks)</option>\n",
               user->id, u == 0 ? " selected" : "", user->display_name, user->n_saved);
    }
    append(page, PAGE_LIMIT,
           "</select></p>\n<p><button id=\"approve\" type=\"submit\" name=\"decision\" "
           "value=\"approve\">Agree</button>\n<button id=\"deny\" type=\"submit\" "
           "name=\"decision\" value=\"deny\">Cancel</button></p>\n</form>\n"
           "<p><small>This is mixtape's Spotify emulator, not Spotify.</small></p>\n"
           "</body></html>\n");
    emu_http_send(conn, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
    free(page);
    return 200;
}

int emu_accounts_authorize(struct emu_server *server, struct mg_connection *conn)
{
    const struct mg_request_info *info = mg_get_request_info(conn);
    struct authorize_request request;
    if (strcmp(info->request_method, "GET") == 0) {
        const char *query = info->query_string ? info->query_string : "";
        if (parse_authorize(conn, query, strlen(query), &request))
            return 400;
        int answered = check_authorize(server, conn, &request);
        return answered ? answered : consent_page(server, conn, &request);
    }
    if (strcmp(info->request_method, "POST") != 0)
        return send_page(conn, 405, "Error", "Method not allowed");
    char *body = NULL;
    size_t len = 0;
    enum emu_http_status read = emu_http_read_body(conn, EMU_FORM_LIMIT, &body, &len);
    if (read == EMU_HTTP_TOO_LARGE)
        return send_page(conn, 413, "Error", "INVALID_REQUEST: the form is larger than 8192 bytes");
    if (read != EMU_HTTP_OK)
        return send_page(conn, 400, "Error", "INVALID_REQUEST: could not read the form");
    int status = 400;
    if (parse_authorize(conn, body, len, &request))
        goto done;
    status = check_authorize(server, conn, &request);
    if (status)
        goto done;
    if (strcmp(request.decision, "approve") != 0) {
        const char *pairs[] = {"error", "access_denied", NULL};
        log_info("consent", "decision=deny user=%s", request.user);
        status = redirect_back(conn, &request, pairs);
        goto done;
    }
    size_t user_index = 0;
    while (user_index < server->library.n_users &&
           strcmp(server->library.users[user_index].id, request.user) != 0)
        user_index++;
    if (user_index == server->library.n_users) {
        status = send_page(conn, 400, "Error", "INVALID_REQUEST: unknown user");
        goto done;
    }
    char code[EMU_TOKEN_LEN + 1];
    if (emu_state_issue_code(&server->state, user_index, request.client_id, request.redirect_uri,
                             request.scope, request.code_challenge, code) != EMU_OK) {
        status = send_page(conn, 503, "Error", "Too many pending authorization codes");
        goto done;
    }
    log_info("consent", "decision=approve user=%s", request.user);
    const char *pairs[] = {"code", code, NULL};
    status = redirect_back(conn, &request, pairs);
done:
    free(body);
    return status;
}

static int token_error(struct mg_connection *conn, int status, const char *error,
                       const char *description)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "error", error);
    cJSON_AddStringToObject(body, "error_description", description);
    return emu_http_send_json(conn, status, body, NULL);
}

/* Reads HTTP Basic credentials. Returns 1 with id and secret written, 0 if there are none, -1 if
 * they are malformed. */
static int basic_credentials(struct mg_connection *conn, char *id, size_t id_len, char *secret,
                             size_t secret_len)
{
    const char *header = mg_get_header(conn, "Authorization");
    if (!header)
        return 0;
    if (strncmp(header, "Basic ", 6) != 0)
        return -1;
    const char *encoded = header + 6;
    size_t n = strlen(encoded);
    if (n == 0 || n > 1024 || n % 4 != 0)
        return -1;
    unsigned char decoded[800];
    int len = EVP_DecodeBlock(decoded, (const unsigned char *)encoded, (int)n);
    if (len < 0)
        return -1;
    for (size_t i = n; i > 0 && encoded[i - 1] == '='; i--)
        len--;
    decoded[len] = '\0';
    char *colon = strchr((char *)decoded, ':');
    if (!colon || (size_t)(colon - (char *)decoded) >= id_len || strlen(colon + 1) >= secret_len)
        return -1;
    size_t id_n = (size_t)(colon - (char *)decoded), secret_n = strlen(colon + 1);
    memcpy(id, decoded, id_n);
    id[id_n] = '\0';
    memcpy(secret, colon + 1, secret_n + 1);
    return 1;
}

static bool same_secret(const char *given, const char *expected)
{
    size_t n = strlen(expected);
    return strlen(given) == n && CRYPTO_memcmp(given, expected, n) == 0;
}

/* The grant of a checked token request: redeems the code or the refresh token and answers
 * with new tokens, or with the OAuth error. Returns the HTTP status sent. */
static int grant_tokens(struct emu_server *server, struct mg_connection *conn,
                        const char *grant_type, const char *client_id, const char *code,
                        const char *redirect_uri, const char *verifier, const char *refresh,
                        bool authenticated)
{
    int status;
    struct emu_grant grant;
    memset(&grant, 0, sizeof grant);
    enum emu_status outcome;
    if (grant_type[0] == '\0') {
        status =
            token_error(conn, 400, "unsupported_grant_type", "grant_type parameter is missing");
        return status;
    } else if (strcmp(grant_type, "authorization_code") == 0) {
        if (code[0] == '\0') {
            status = token_error(conn, 400, "invalid_request", "code must be supplied");
            return status;
        }
        outcome = emu_state_redeem_code(&server->state, code, client_id, redirect_uri,
                                        verifier[0] ? verifier : NULL, authenticated, &grant);
    } else if (strcmp(grant_type, "refresh_token") == 0) {
        if (refresh[0] == '\0') {
            status = token_error(conn, 400, "invalid_request", "refresh_token must be supplied");
            return status;
        }
        outcome = emu_state_refresh(&server->state, refresh, client_id, &grant);
    } else {
        status = token_error(conn, 400, "unsupported_grant_type",
                             "grant_type must be client_credentials, authorization_code or "
                             "refresh_token");
        return status;
    }
    if (outcome == EMU_ERR_CLIENT_MISMATCH) {
        status = token_error(conn, 400, "invalid_client", "Invalid client");
        return status;
    }
    if (outcome == EMU_ERR_FULL) {
        status = token_error(conn, 503, "server_error", "too many tokens");
        return status;
    }
    if (outcome != EMU_OK) {
        log_info("token_refused", "grant_type=%s reason=\"%s\"", grant_type, emu_strerror(outcome));
        status = token_error(conn, 400, "invalid_grant", emu_strerror(outcome));
        return status;
    }
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "access_token", grant.access_token);
    cJSON_AddStringToObject(answer, "token_type", "Bearer");
    cJSON_AddStringToObject(answer, "scope", grant.scope);
    cJSON_AddNumberToObject(answer, "expires_in", (double)grant.expires_in);
    cJSON_AddStringToObject(answer, "refresh_token", grant.refresh_token);
    status = emu_http_send_json(conn, 200, answer, NULL);
    log_info("token_granted", "grant_type=%s expires_in=%lld", grant_type, grant.expires_in);
    return status;
}

int emu_accounts_token(struct emu_server *server, struct mg_connection *conn)
{
    const struct mg_request_info *info = mg_get_request_info(conn);
    if (strcmp(info->request_method, "POST") != 0)
        return token_error(conn, 405, "invalid_request", "use POST");
    char *body = NULL;
    size_t len = 0;
    enum emu_http_status read = emu_http_read_body(conn, EMU_FORM_LIMIT, &body, &len);
    if (read == EMU_HTTP_TOO_LARGE)
        return token_error(conn, 413, "invalid_request", "the form is larger than 8192 bytes");
    if (read != EMU_HTTP_OK)
        return token_error(conn, 400, "invalid_request", "could not read the form");
    int status = 400;
    char grant_type[32], client_id[EMU_URI_MAX], client_secret[256], code[EMU_TOKEN_LEN + 2];
    char redirect_uri[EMU_URI_MAX], verifier[160], refresh[EMU_TOKEN_LEN + 2];
    char basic_id[EMU_URI_MAX], basic_secret[256];
    int basic =
        basic_credentials(conn, basic_id, sizeof basic_id, basic_secret, sizeof basic_secret);
    if (basic < 0) {
        status = token_error(conn, 400, "invalid_client", "Invalid client");
        goto done;
    }
    const char *fields[] = {"grant_type",   "client_id",     "client_secret", "code",
                            "redirect_uri", "code_verifier", "refresh_token"};
    char *targets[] = {grant_type, client_id, client_secret, code, redirect_uri, verifier, refresh};
    size_t sizes[] = {sizeof grant_type,   sizeof client_id, sizeof client_secret, sizeof code,
                      sizeof redirect_uri, sizeof verifier,  sizeof refresh};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int n = emu_http_param(body, len, fields[i], targets[i], sizes[i]);
        if (n == -2) {
            char message[128];
            snprintf(message, sizeof message, "%s is longer than %zu bytes", fields[i],
                     sizes[i] - 1);
            status = token_error(conn, 400, "invalid_request", message);
            goto done;
        }
        if (n < 0)
            targets[i][0] = '\0';
    }
    bool authenticated = false;
    if (basic == 1) {
        if (strcmp(basic_id, server->client_id) != 0) {
            status = token_error(conn, 400, "invalid_client", "Invalid client");
            goto done;
        }
        snprintf(client_id, sizeof client_id, "%s", basic_id);
        snprintf(client_secret, sizeof client_secret, "%s", basic_secret);
    }
    if (client_id[0] == '\0' || strcmp(client_id, server->client_id) != 0) {
        status = token_error(conn, 400, "invalid_client", "Invalid client");
        goto done;
    }
    if (client_secret[0] != '\0') {
        if (!server->client_secret || !same_secret(client_secret, server->client_secret)) {
            status = token_error(conn, 400, "invalid_client", "Invalid client secret");
            goto done;
        }
        authenticated = true;
    }
    status = grant_tokens(server, conn, grant_type, client_id, code, redirect_uri, verifier,
                          refresh, authenticated);
done:
    free(body);
    return status;
}

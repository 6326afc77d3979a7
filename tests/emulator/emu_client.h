/* A test-side client of spotify-emu: starts the emulator through the harness with the small
 * fixture catalog, makes HTTP requests with libcurl, and runs the whole PKCE sign-in so a test
 * starts from tokens. Used by the emulator's own tests and the browser tests.
 * Threads: one thread at a time per struct; curl_global_init happens on first use. */
#ifndef EMU_CLIENT_H
#define EMU_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define EMU_CLIENT_ID           "mixtape-test-client"
#define EMU_CLIENT_REDIRECT_URI "http://127.0.0.1:9/callback"

struct emu_response {
    long status;
    char *body;             /* NUL-terminated; freed by emu_response_free */
    char location[4096];    /* Location header, "" if none */
    char retry_after[32];   /* Retry-After header, "" if none */
    char content_type[128]; /* Content-Type header, "" if none */
    double seconds;         /* time the request took */
};

/* Starts bin/spotify-emu with the fixture catalog (tests/emulator/testdata/catalog.csv),
 * client id EMU_CLIENT_ID, redirect URI EMU_CLIENT_REDIRECT_URI and extra_args (NULL-terminated,
 * may be NULL) on a free port. Returns 0 or -1. Stop it with harness_stop. */
int emu_client_start(struct harness_proc *proc, char *const *extra_args);

/* Makes one request to base (e.g. "http://127.0.0.1:PORT") + path. headers is a
 * NULL-terminated list of "Name: value" lines (may be NULL); body may be NULL. Redirects are
 * not followed. Returns 0 with *out filled (free with emu_response_free), or -1 on transport
 * failure. Blocks up to 30 s. */
int emu_request(const char *method, const char *base, const char *path, const char *const *headers,
                const char *body, struct emu_response *out);

void emu_response_free(struct emu_response *response);

/* A verifier of 64 characters and its S256 challenge, for tests. */
struct emu_pkce_pair {
    char verifier[65];
    char challenge[44];
};
void emu_client_pkce(struct emu_pkce_pair *pair);

/* Gets an authorization code: GET /authorize then POST the consent form as user with
 * decision "approve". Writes the code; returns 0 or -1. */
int emu_client_authorize(const char *base, const char *user, const char *scope,
                         const struct emu_pkce_pair *pkce, char *code, size_t code_len);

/* Tokens from a full sign-in. */
struct emu_tokens {
    char access_token[128];
    char refresh_token[128];
    long expires_in;
};

/* Signs user in with scope through the whole PKCE flow. Returns 0 or -1. */
int emu_client_sign_in(const char *base, const char *user, const char *scope,
                       struct emu_tokens *tokens);

/* Writes "Authorization: Bearer TOKEN" into header. */
void emu_client_bearer(const char *token, char *header, size_t len);

#endif

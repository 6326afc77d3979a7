/* The world auth-service's integration tests run in: a synthetic catalog and model made with
 * bin/reco-model, reco-service, spotify-emu over the same catalog, and auth-service between
 * them, all on free ports; plus a "browser" (libcurl with a cookie jar) to walk the pages. */
#ifndef MIXTAPE_AUTH_FIXTURE_H
#define MIXTAPE_AUTH_FIXTURE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness.h"
#include "session.h"

/* The session key the fixture gives auth-service, so tests can open and forge cookies. */
#define FIXTURE_SESSION_KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define FIXTURE_CLIENT_ID   "mixtape-it-client"

struct fixture {
    char dir[128];
    char catalog[192], model[192], auth_log[192];
    struct harness_proc reco, emu, auth;
    bool reco_running, emu_running, auth_running;
    char reco_addr[256];
    char emu_base[300];
    char auth_base[300];
    int auth_port;
    struct session_keyring keys;
};

/* Makes the catalog (catalog_rows rows) and model, starts reco-service, spotify-emu (with
 * library_size and emu_args, NULL-terminated, may be NULL) and auth-service (with auth_env,
 * "NAME=value" strings, NULL-terminated, may be NULL). auth-service's stderr is appended to
 * f->auth_log. Returns 0, or -1 with everything stopped. */
int fixture_start(struct fixture *f, int catalog_rows, int library_size, char *const *emu_args,
                  const char *const *auth_env);

/* Starts one more auth-service front on port with the same settings (and auth_env added),
 * logging to the same file. Returns 0 with *proc running (stop it with harness_stop). */
int fixture_start_front(struct fixture *f, struct harness_proc *proc, int port,
                        const char *const *auth_env);

/* A port that was free a moment ago on 127.0.0.1. */
int fixture_free_port(void);

/* Stops whatever runs and removes the temporary directory. */
void fixture_stop(struct fixture *f);

/* POST /_emu/config with a JSON object. Returns 0 on 200. */
int fixture_emu_config(struct fixture *f, const char *json);

/* One answer. */
struct reply {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    char location[4096];
    char content_type[128];
    char set_cookie[8192]; /* every Set-Cookie line, '\n'-separated */
};

void reply_free(struct reply *r);

/* A browser: one curl handle with a cookie jar; redirects are not followed. */
struct browser {
    CURL *curl;
};

int browser_open(struct browser *b);
void browser_close(struct browser *b);

/* A request to url with extra header lines (NULL-terminated, may be NULL) and body (may be
 * NULL). Returns 0 with *out filled, or -1 on a transport failure. */
int browser_request(struct browser *b, const char *method, const char *url,
                    const char *const *headers, const char *body, struct reply *out);

/* The value of cookie `name` in the jar for 127.0.0.1 into out, or -1 if absent. */
int browser_cookie(struct browser *b, const char *name, char *out, size_t len);

/* Puts a cookie for 127.0.0.1 into the jar (replacing one of the same name). */
void browser_set_cookie(struct browser *b, const char *name, const char *value);

/* GET /login on auth-service and the consent page it leads to. Writes the authorize query
 * (everything after '?') into query. Returns 0 when the consent form is shown. */
int browser_begin_sign_in(struct browser *b, struct fixture *f, char *query, size_t len);

/* Submits the consent form for user with decision "approve" or "deny" and writes the
 * redirect (auth-service's /callback URL) into callback. Returns 0 on a 302. */
int browser_consent(struct browser *b, struct fixture *f, const char *query, const char *user,
                    const char *decision, char *callback, size_t len);

/* The whole sign-in as user; returns 0 when /callback answered 303 to /mix. */
int browser_sign_in(struct browser *b, struct fixture *f, const char *user);

/* Counts occurrences of needle in text. */
size_t count_of(const char *text, const char *needle);

#endif

/* The integration-test world for auth-service: see fixture.h. */
#include "fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_body.h"

int fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int fixture_start(struct fixture *f, int catalog_rows, int library_size, char *const *emu_args,
                  const char *const *auth_env)
{
    memset(f, 0, sizeof *f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(f->dir, sizeof f->dir, "/tmp/mixtape-auth-it-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->catalog, sizeof f->catalog, "%s/catalog.csv", f->dir);
    snprintf(f->model, sizeof f->model, "%s/model.bin", f->dir);
    snprintf(f->auth_log, sizeof f->auth_log, "%s/auth.log", f->dir);
    char err[256];
    if (session_keyring_parse(&f->keys, FIXTURE_SESSION_KEY, err, sizeof err) != SESSION_OK)
        return -1;

    char model_tool[512], reco_bin[512], emu_bin[512];
    snprintf(model_tool, sizeof model_tool, "%s", harness_binary("bin/reco-model"));
    snprintf(reco_bin, sizeof reco_bin, "%s", harness_binary("bin/reco-service"));
    snprintf(emu_bin, sizeof emu_bin, "%s", harness_binary("bin/spotify-emu"));
    char rows[16];
    snprintf(rows, sizeof rows, "%d", catalog_rows);
    char *synth[] = {model_tool, "synth", "--rows", rows, "--out", f->catalog, "--seed", "5", NULL};
    if (harness_run(synth, NULL, 0, NULL, 0, 60000) != 0)
        goto fail;
    char *build[] = {model_tool,   "build", "--catalog", f->catalog, "--out", f->model,
                     "--restarts", "2",     "--k",       "12",       NULL};
    if (harness_run(build, NULL, 0, NULL, 0, 120000) != 0)
        goto fail;

    char *reco[] = {reco_bin, "--model", f->model, "--listen", "tcp://127.0.0.1:0", NULL};
    if (harness_start(&f->reco, reco, NULL, 20000) != 0)
        goto fail;
    f->reco_running = true;
    snprintf(f->reco_addr, sizeof f->reco_addr, "%s", f->reco.addr);

    f->auth_port = fixture_free_port();
    char redirect[128], library[16];
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d/callback", f->auth_port);
    snprintf(library, sizeof library, "%d", library_size);
    char *emu[32] = {emu_bin,    "--listen",       "127.0.0.1:0",     "--catalog",
                     f->catalog, "--client-id",    FIXTURE_CLIENT_ID, "--redirect-uri",
                     redirect,   "--library-size", library,           "--log-level",
                     "warn"};
    int n = 13;
    for (int i = 0; emu_args && emu_args[i] && n < 31; i++)
        emu[n++] = emu_args[i];
    emu[n] = NULL;
    if (harness_start(&f->emu, emu, NULL, 20000) != 0)
        goto fail;
    f->emu_running = true;
    snprintf(f->emu_base, sizeof f->emu_base, "http://%s", f->emu.addr);

    if (fixture_start_front(f, &f->auth, f->auth_port, auth_env) != 0)
        goto fail;
    f->auth_running = true;
    snprintf(f->auth_base, sizeof f->auth_base, "%s", f->auth.addr);
    return 0;
fail:
    fprintf(stderr, "fixture: start-up failed\n");
    fixture_stop(f);
    return -1;
}

int fixture_start_front(struct fixture *f, struct harness_proc *proc, int port,
                        const char *const *auth_env)
{
    char env[24][512];
    char *all[32];
    int e = 0;
    snprintf(env[e++], sizeof env[0], "SPOTIFY_CLIENT_ID=%s", FIXTURE_CLIENT_ID);
    snprintf(env[e++], sizeof env[0], "LISTEN=127.0.0.1:%d", port);
    snprintf(env[e++], sizeof env[0], "PUBLIC_URL=http://127.0.0.1:%d", port);
    snprintf(env[e++], sizeof env[0], "RECO_ENDPOINTS=%s", f->reco_addr);
    snprintf(env[e++], sizeof env[0], "SPOTIFY_ACCOUNTS_URL=%s", f->emu_base);
    snprintf(env[e++], sizeof env[0], "SPOTIFY_API_URL=%s", f->emu_base);
    snprintf(env[e++], sizeof env[0], "SESSION_KEYS=%s", FIXTURE_SESSION_KEY);
    snprintf(env[e++], sizeof env[0], "AUTH_IT_LOG=%s", f->auth_log);
    for (int i = 0; auth_env && auth_env[i] && e < 23; i++)
        snprintf(env[e++], sizeof env[0], "%s", auth_env[i]);
    for (int i = 0; i < e; i++)
        all[i] = env[i];
    all[e] = NULL;
    char auth_bin[512];
    snprintf(auth_bin, sizeof auth_bin, "%s", harness_binary("bin/auth-service"));
    /* Through a shell only to send stderr to a file the tests can search for secrets. */
    char *argv[] = {"/bin/sh", "-c", "exec \"$0\" 2>>\"$AUTH_IT_LOG\"", auth_bin, NULL};
    return harness_start(proc, argv, all, 20000);
}

void fixture_stop(struct fixture *f)
{
    if (f->auth_running)
        harness_stop(&f->auth, 10000);
    if (f->emu_running)
        harness_stop(&f->emu, 10000);
    if (f->reco_running)
        harness_stop(&f->reco, 10000);
    f->auth_running = f->emu_running = f->reco_running = false;
    if (f->dir[0]) {
        unlink(f->catalog);
        unlink(f->model);
        unlink(f->auth_log);
        rmdir(f->dir);
        f->dir[0] = '\0';
    }
}

int fixture_emu_config(struct fixture *f, const char *json)
{
    struct browser b;
    if (browser_open(&b) != 0)
        return -1;
    char url[512];
    snprintf(url, sizeof url, "%s/_emu/config", f->emu_base);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct reply r;
    int rc = browser_request(&b, "POST", url, headers, json, &r);
    if (rc == 0 && r.status != 200)
        rc = -1;
    if (rc == 0 || r.body)
        reply_free(&r);
    browser_close(&b);
    return rc;
}

void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
}

int browser_open(struct browser *b)
{
    b->curl = curl_easy_init();
    if (!b->curl)
        return -1;
    curl_easy_setopt(b->curl, CURLOPT_COOKIEFILE, ""); /* turn the cookie engine on */
    curl_easy_setopt(b->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(b->curl, CURLOPT_NOSIGNAL, 1L);
    return 0;
}

void browser_close(struct browser *b)
{
    if (b->curl)
        curl_easy_cleanup(b->curl);
    b->curl = NULL;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct reply *r = userdata;
    size_t n = size * nmemb;
    return http_body_append(&r->body, &r->len, ptr, n) ? n : 0;
}

static void copy_value(char *dst, size_t cap, const char *value, size_t len)
{
    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n'))
        len--;
    while (len > 0 && *value == ' ')
        value++, len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, value, len);
    dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
    struct reply *r = userdata;
    size_t len = size * n;
    if (len > 9 && strncasecmp(line, "Location:", 9) == 0)
        copy_value(r->location, sizeof r->location, line + 9, len - 9);
    else if (len > 13 && strncasecmp(line, "Content-Type:", 13) == 0)
        copy_value(r->content_type, sizeof r->content_type, line + 13, len - 13);
    else if (len > 11 && strncasecmp(line, "Set-Cookie:", 11) == 0) {
        size_t used = strlen(r->set_cookie);
        if (used + len + 2 < sizeof r->set_cookie) {
            copy_value(r->set_cookie + used, sizeof r->set_cookie - used, line + 11, len - 11);
            strcat(r->set_cookie, "\n");
        }
    }
    return len;
}

int browser_request(struct browser *b, const char *method, const char *url,
                    const char *const *headers, const char *body, struct reply *out)
{
    memset(out, 0, sizeof *out);
    out->body = calloc(1, 1);
    struct curl_slist *list = NULL;
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    CURL *c = b->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        fprintf(stderr, "browser: %s %s: %s\n", method, url, curl_easy_strerror(rc));
        reply_free(out);
        return -1;
    }
    return 0;
}

int browser_cookie(struct browser *b, const char *name, char *out, size_t len)
{
    struct curl_slist *cookies = NULL;
    curl_easy_getinfo(b->curl, CURLINFO_COOKIELIST, &cookies);
    int found = -1;
    for (struct curl_slist *c = cookies; c; c = c->next) {
        /* Netscape format: domain, tailmatch, path, secure, expires, name, value. */
        char *fields[7] = {0};
        char *copy = strdup(c->data), *save = NULL;
        int n = 0;
        for (char *tok = strtok_r(copy, "\t", &save); tok && n < 7;
             tok = strtok_r(NULL, "\t", &save))
            fields[n++] = tok;
        if (n >= 6 && strcmp(fields[5], name) == 0) {
            snprintf(out, len, "%s", n == 7 ? fields[6] : "");
            found = 0;
        }
        free(copy);
    }
    curl_slist_free_all(cookies);
    return found;
}

void browser_set_cookie(struct browser *b, const char *name, const char *value)
{
    char line[8192];
    snprintf(line, sizeof line, "127.0.0.1\tFALSE\t/\tFALSE\t0\t%s\t%s", name, value);
    curl_easy_setopt(b->curl, CURLOPT_COOKIELIST, line);
}

int browser_begin_sign_in(struct browser *b, struct fixture *f, char *query, size_t len)
{
    char url[512];
    snprintf(url, sizeof url, "%s/login", f->auth_base);
    struct reply r;
    if (browser_request(b, "GET", url, NULL, NULL, &r) != 0)
        return -1;
    reply_free(&r);
    const char *q = strchr(r.location, '?');
    if (r.status != 302 || strncmp(r.location, f->emu_base, strlen(f->emu_base)) != 0 || !q)
        return -1;
    snprintf(query, len, "%s", q + 1);
    struct reply page;
    if (browser_request(b, "GET", r.location, NULL, NULL, &page) != 0)
        return -1;
    bool shown = page.status == 200 && strstr(page.body, "id=\"approve\"") &&
                 strstr(page.body, "name=\"state\"");
    reply_free(&page);
    return shown ? 0 : -1;
}

int browser_consent(struct browser *b, struct fixture *f, const char *query, const char *user,
                    const char *decision, char *callback, size_t len)
{
    char url[512], form[4096];
    snprintf(url, sizeof url, "%s/authorize", f->emu_base);
    snprintf(form, sizeof form, "%s&user=%s&decision=%s", query, user, decision);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct reply r;
    if (browser_request(b, "POST", url, headers, form, &r) != 0)
        return -1;
    reply_free(&r);
    if (r.status != 302)
        return -1;
    snprintf(callback, len, "%s", r.location);
    return 0;
}

int browser_sign_in(struct browser *b, struct fixture *f, const char *user)
{
    char query[4096], callback[4096];
    if (browser_begin_sign_in(b, f, query, sizeof query) != 0 ||
        browser_consent(b, f, query, user, "approve", callback, sizeof callback) != 0)
        return -1;
    struct reply r;
    if (browser_request(b, "GET", callback, NULL, NULL, &r) != 0)
        return -1;
    reply_free(&r);
    return r.status == 303 && strcmp(r.location, "/mix") == 0 ? 0 : -1;
}

size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

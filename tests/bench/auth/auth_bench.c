/* auth-bench: sign-in to a shown 50-track playlist, timed end to end; with --steer N, also
 * N control changes, N Regenerates and N POST /api/mix after the first playlist of one
 * sign-in (answered from the front's cached library), beside that first playlist (which reads
 * the library) in the same run, and how many songs consecutive Regenerates share. For each value of
 * SPOTIFY_CONNECTIONS asked for, starts reco-service, spotify-emu (with --latency-ms added to
 * every Web API and token answer) and auth-service on free ports, then repeats: GET /login,
 * the consent page, approve, GET /callback (token exchange + /v1/me), GET /mix streamed to the
 * last byte with 50 tracks shown. Prints one line per run and a summary per setting.
 * Build without sanitizers for numbers (see RESULTS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "options.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, int n, double p)
{
    qsort(values, (size_t)n, sizeof *values, by_value);
    int i = (int)(p * (n - 1) + 0.5);
    return values[i];
}

/* The ids inside <ol id="tracks"> of a mix page, comma-joined into out. */
static size_t shown_ids(const char *page, char *out, size_t len)
{
    out[0] = '\0';
    const char *start = strstr(page, "<ol id=\"tracks\">");
    const char *end = start ? strstr(start, "</ol>") : NULL;
    size_t n = 0, used = 0;
    for (const char *p = start; p && end && (p = strstr(p, "<li data-id=\"")) && p < end; p++) {
        p += 13;
        if (used + 24 < len) {
            used += (size_t)snprintf(out + used, len - used, "%.22s,", p);
            n++;
        }
    }
    return n;
}

struct timing {
    double total, consent, callback, first_byte, mix;
};

/* One sign-in to a shown playlist. Returns 0 and *t, or -1. */
static int one_run(struct fixture *f, struct timing *t)
{
    struct browser b;
    if (browser_open(&b) != 0)
        return -1;
    int rc = -1;
    char query[4096], callback[4096], url[512];
    double start = now_ms();
    if (browser_begin_sign_in(&b, f, query, sizeof query) != 0)
        goto done;
    if (browser_consent(&b, f, query, "demo", "approve", callback, sizeof callback) != 0)
        goto done;
    double consented = now_ms();
    struct reply r;
    if (browser_request(&b, "GET", callback, NULL, NULL, &r) != 0)
        goto done;
    reply_free(&r);
    if (r.status != 303)
        goto done;
    double signed_in = now_ms();
    snprintf(url, sizeof url, "%s/mix", f->auth_base);
    if (browser_request(&b, "GET", url, NULL, NULL, &r) != 0)
        goto done;
    double shown = now_ms();
    curl_off_t first_byte_us = 0;
    curl_easy_getinfo(b.curl, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
    char ids[50 * 24 + 64];
    size_t tracks = shown_ids(r.body ? r.body : "", ids, sizeof ids);
    reply_free(&r);
    if (r.status != 200 || tracks != 50) {
        fprintf(stderr, "auth-bench: /mix answered %ld with %zu tracks\n", r.status, tracks);
        goto done;
    }
    t->total = shown - start;
    t->consent = consented - start;
    t->callback = signed_in - consented;
    t->first_byte = (double)first_byte_us / 1000.0;
    t->mix = shown - signed_in;
    rc = 0;
done:
    browser_close(&b);
    return rc;
}

static size_t shared_ids(const char *a, const char *b)
{
    size_t n = 0;
    for (const char *p = b; *p; p += 23) {
        char one[24];
        snprintf(one, sizeof one, "%.22s", p);
        n += strstr(a, one) != NULL;
    }
    return n;
}

/* Times GET url (to its last byte); the page must show 50 songs. ids (may be NULL) gets them. */
static int timed_page(struct browser *b, const char *url, double *ms, char *ids, size_t len)
{
    struct reply r;
    double start = now_ms();
    if (browser_request(b, "GET", url, NULL, NULL, &r) != 0)
        return -1;
    *ms = now_ms() - start;
    char local[50 * 24 + 64];
    size_t n = shown_ids(r.body ? r.body : "", ids ? ids : local, ids ? len : sizeof local);
    long status = r.status;
    reply_free(&r);
    if (status != 200 || n != 50) {
        fprintf(stderr, "auth-bench: %s answered %ld with %zu songs\n", url, status, n);
        return -1;
    }
    return 0;
}

/* After one sign-in and its first playlist: n control changes, n Regenerates, n POST /api/mix
 * (each answered from the cached library), timed; the overlap of consecutive Regenerates. */
static int steer_phase(struct fixture *f, int n)
{
    struct browser b;
    if (browser_open(&b) != 0 || browser_sign_in(&b, f, "demo") != 0)
        return -1;
    int rc = -1;
    char url[512], origin[400];
    double first = 0;
    double *control = calloc((size_t)n, sizeof *control), *regen = calloc((size_t)n, sizeof *regen),
           *api = calloc((size_t)n, sizeof *api), *overlap = calloc((size_t)n, sizeof *overlap);
    static char before[50 * 24 + 64], after[50 * 24 + 64];
    snprintf(url, sizeof url, "%s/mix", f->auth_base);
    if (!control || !regen || !api || !overlap ||
        timed_page(&b, url, &first, before, sizeof before))
        goto done;
    snprintf(origin, sizeof origin, "Origin: %s", f->auth_base);
    const char *headers[] = {"Content-Type: application/json", origin, NULL};
    int n_overlap = 0;
    for (int i = 0; i < n; i++) {
        snprintf(url, sizeof url, "%s/mix?energy=%s&discover=%s", f->auth_base,
                 i % 2 ? "0.2" : "0.85", i % 3 ? "0" : "0.5");
        if (timed_page(&b, url, &control[i], NULL, 0) != 0)
            goto done;
        snprintf(url, sizeof url, "%s/mix?variety=%d", f->auth_base, 1000 + i);
        if (timed_page(&b, url, &regen[i], after, sizeof after) != 0)
            goto done;
        if (i > 0) /* Regenerate after Regenerate */
            overlap[n_overlap++] = (double)shared_ids(before, after) / 50.0;
        memcpy(before, after, sizeof before);
        char body[64];
        snprintf(body, sizeof body, "{\"variety\":%d}", 5000 + i);
        snprintf(url, sizeof url, "%s/api/mix", f->auth_base);
        struct reply r;
        double start = now_ms();
        if (browser_request(&b, "POST", url, headers, body, &r) != 0)
            goto done;
        api[i] = now_ms() - start;
        long status = r.status;
        reply_free(&r);
        if (status != 200) {
            fprintf(stderr, "auth-bench: POST /api/mix answered %ld\n", status);
            goto done;
        }
    }
    printf("steer first_playlist_ms=%.1f (reads the library: the baseline)\n", first);
    printf("steer control_change p50_ms=%.1f p90_ms=%.1f max_ms=%.1f\n",
           percentile(control, n, 0.5), percentile(control, n, 0.9), percentile(control, n, 1.0));
    printf("steer regenerate p50_ms=%.1f p90_ms=%.1f max_ms=%.1f\n", percentile(regen, n, 0.5),
           percentile(regen, n, 0.9), percentile(regen, n, 1.0));
    printf("steer api_mix p50_ms=%.1f p90_ms=%.1f max_ms=%.1f\n", percentile(api, n, 0.5),
           percentile(api, n, 0.9), percentile(api, n, 1.0));
    if (n_overlap > 0)
        printf("steer regenerate_overlap median=%.2f max=%.2f pairs=%d\n",
               percentile(overlap, n_overlap, 0.5), percentile(overlap, n_overlap, 1.0), n_overlap);
    printf("steer ratio first_playlist/regenerate_p50 = %.1f\n", first / percentile(regen, n, 0.5));
    rc = 0;
done:
    free(control);
    free(regen);
    free(api);
    free(overlap);
    browser_close(&b);
    return rc;
}

int main(int argc, char **argv)
{
    long long runs = 10, library = 2000, latency = 50, rows = 12000, steer = 0;
    const char *connections = "1,8";
    const struct option_spec specs[] = {
        {"runs", 'n', NULL, OPTION_INT, "10", 1, 1000, "timed runs per setting", &runs},
        {"library", 0, NULL, OPTION_INT, "2000", 1, 20000, "saved tracks of the user", &library},
        {"latency-ms", 0, NULL, OPTION_INT, "50", 0, 5000,
         "added to every Spotify answer (emulator --latency-ms)", &latency},
        {"catalog-rows", 0, NULL, OPTION_INT, "12000", 1000, 1000000, "synthetic catalog size",
         &rows},
        {"steer", 0, NULL, OPTION_INT, "0", 0, 1000,
         "control changes, Regenerates and /api/mix calls timed after one first playlist "
         "(with the last connections setting)",
         &steer},
        {"connections", 0, NULL, OPTION_STRING, "1,8", 0, 0,
         "comma-separated SPOTIFY_CONNECTIONS values, run side by side", &connections},
    };
    char *positional[16];
    int n_positional = 0;
    enum options_result parsed =
        options_parse(specs, sizeof specs / sizeof specs[0], argc, argv,
                      "usage: auth-bench [options]  (MIXTAPE_BUILD_DIR must point at the build)",
                      positional, &n_positional);
    if (parsed == OPTIONS_HELP)
        return 0;
    if (parsed != OPTIONS_OK)
        return 2;
    char latency_text[16];
    snprintf(latency_text, sizeof latency_text, "%lld", latency);
    char *emu_args[] = {"--latency-ms", latency_text, NULL};
    char list[256];
    snprintf(list, sizeof list, "%s", connections);
    double medians[16];
    int n_settings = 0;
    char *save = NULL;
    printf("library=%lld latency_ms=%lld runs=%lld catalog_rows=%lld steer=%lld\n", library,
           latency, runs, rows, steer);
    for (char *c = strtok_r(list, ",", &save); c && n_settings < 16;
         c = strtok_r(NULL, ",", &save)) {
        char env_connections[64];
        snprintf(env_connections, sizeof env_connections, "SPOTIFY_CONNECTIONS=%s", c);
        const char *env[] = {env_connections, "LOG_LEVEL=warn", NULL};
        struct fixture f;
        if (fixture_start(&f, (int)rows, (int)library, emu_args, env) != 0)
            return 1;
        struct timing warm;
        if (one_run(&f, &warm) != 0) { /* warm-up, not counted */
            fixture_stop(&f);
            return 1;
        }
        double *total = calloc((size_t)runs, sizeof *total);
        double *mix = calloc((size_t)runs, sizeof *mix);
        double *callback = calloc((size_t)runs, sizeof *callback);
        double *first = calloc((size_t)runs, sizeof *first);
        for (int i = 0; i < runs; i++) {
            struct timing t;
            if (one_run(&f, &t) != 0) {
                fixture_stop(&f);
                return 1;
            }
            printf("connections=%s run=%d total_ms=%.1f consent_ms=%.1f callback_ms=%.1f "
                   "mix_first_byte_ms=%.1f mix_ms=%.1f\n",
                   c, i + 1, t.total, t.consent, t.callback, t.first_byte, t.mix);
            total[i] = t.total;
            mix[i] = t.mix;
            callback[i] = t.callback;
            first[i] = t.first_byte;
        }
        char *next_setting = save && *save ? save : NULL;
        if (steer > 0 && !next_setting && steer_phase(&f, (int)steer) != 0) {
            fixture_stop(&f);
            return 1;
        }
        fixture_stop(&f);
        medians[n_settings] = percentile(total, (int)runs, 0.5);
        printf("summary connections=%s median_total_ms=%.1f p90_total_ms=%.1f max_total_ms=%.1f "
               "median_callback_ms=%.1f median_mix_first_byte_ms=%.1f median_mix_ms=%.1f\n",
               c, medians[n_settings], percentile(total, (int)runs, 0.9),
               percentile(total, (int)runs, 1.0), percentile(callback, (int)runs, 0.5),
               percentile(first, (int)runs, 0.5), percentile(mix, (int)runs, 0.5));
        fflush(stdout);
        n_settings++;
        free(total);
        free(mix);
        free(callback);
        free(first);
    }
    for (int i = 1; i < n_settings; i++)
        printf("ratio median_total setting1/setting%d = %.2f\n", i + 1, medians[0] / medians[i]);
    return 0;
}

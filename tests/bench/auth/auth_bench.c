/* auth-bench: sign-in to a shown 50-track playlist, timed end to end. For each value of
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
    size_t tracks = count_of(r.body, "<li data-id=");
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

int main(int argc, char **argv)
{
    long long runs = 10, library = 2000, latency = 50, rows = 12000;
    const char *connections = "1,8";
    const struct option_spec specs[] = {
        {"runs", 'n', NULL, OPTION_INT, "10", 1, 1000, "timed runs per setting", &runs},
        {"library", 0, NULL, OPTION_INT, "2000", 1, 20000, "saved tracks of the user", &library},
        {"latency-ms", 0, NULL, OPTION_INT, "50", 0, 5000,
         "added to every Spotify answer (emulator --latency-ms)", &latency},
        {"catalog-rows", 0, NULL, OPTION_INT, "12000", 1000, 1000000, "synthetic catalog size",
         &rows},
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
    printf("library=%lld latency_ms=%lld runs=%lld catalog_rows=%lld\n", library, latency, runs,
           rows);
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

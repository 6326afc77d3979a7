/* The Prometheus exposition: counters by label and status, histogram buckets, overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static void test_exposition(void **state)
{
    (void)state;
    metrics_reset();
    metrics_request("/api/mix", 200);
    metrics_request("/api/mix", 200);
    metrics_request("/callback", 400);
    metrics_spotify("saved_tracks", 429);
    metrics_spotify("saved_tracks", 0);
    metrics_rpc("Recommend", "OK", 0.003);
    metrics_rpc("Recommend", "OK", 0.3);
    metrics_match(800, 12, 188);
    metrics_match(12, 0, 3);
    char *text = metrics_render();
    assert_non_null(text);
    static const char *const want[] = {
        "# TYPE mixtape_auth_requests_total counter\n",
        "mixtape_auth_requests_total{route=\"/api/mix\",status=\"200\"} 2\n",
        "mixtape_auth_requests_total{route=\"/callback\",status=\"400\"} 1\n",
        "mixtape_auth_spotify_calls_total{endpoint=\"saved_tracks\",status=\"429\"} 1\n",
        "mixtape_auth_spotify_calls_total{endpoint=\"saved_tracks\",status=\"0\"} 1\n",
        "# TYPE mixtape_auth_rpc_duration_seconds histogram\n",
        "mixtape_auth_rpc_duration_seconds_bucket{method=\"Recommend\",code=\"OK\",le=\"0.005\"} "
        "1\n",
        "mixtape_auth_rpc_duration_seconds_bucket{method=\"Recommend\",code=\"OK\",le=\"0.25\"} "
        "1\n",
        "mixtape_auth_rpc_duration_seconds_bucket{method=\"Recommend\",code=\"OK\",le=\"0.5\"} 2\n",
        "mixtape_auth_rpc_duration_seconds_bucket{method=\"Recommend\",code=\"OK\",le=\"+Inf\"} "
        "2\n",
        "mixtape_auth_rpc_duration_seconds_count{method=\"Recommend\",code=\"OK\"} 2\n",
        "# TYPE mixtape_auth_saved_tracks_total counter\n",
        "mixtape_auth_saved_tracks_total{match=\"song\"} 812\n",
        "mixtape_auth_saved_tracks_total{match=\"artist_only\"} 12\n",
        "mixtape_auth_saved_tracks_total{match=\"unmatched\"} 191\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing: %s\nin:\n%s", want[i], text);
    free(text);
}

static void test_series_limit(void **state)
{
    (void)state;
    metrics_reset();
    for (int s = 0; s < METRICS_MAX_SERIES + 50; s++)
        metrics_request("/", 1000 + s);
    char *text = metrics_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "route=\"other\",status=\"other\"} 51\n"));
    /* Reset: the match counters start again from zero, and are always exposed. */
    assert_non_null(strstr(text, "mixtape_auth_saved_tracks_total{match=\"song\"} 0\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_series_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

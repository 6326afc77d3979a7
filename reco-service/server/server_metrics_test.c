/* server_metrics: the exposition has every family with HELP and TYPE, counts by method and
 * code (unknown methods as "other"), cumulative histogram buckets, gauges as given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server_metrics.h"

static void test_render(void **state)
{
    (void)state;
    server_metrics_reset();
    server_metrics_request("Recommend", RPC_OK, 0.004);
    server_metrics_request("Recommend", RPC_OK, 0.2);
    server_metrics_request("Recommend", RPC_RESOURCE_EXHAUSTED, 0.0001);
    server_metrics_request("Delete\nlevel=error", RPC_UNIMPLEMENTED, 0.0001);
    server_metrics_request(NULL, RPC_INVALID_ARGUMENT, 0.0001);
    server_metrics_queue_wait(0.003);
    server_metrics_expired();
    server_metrics_expired();
    server_metrics_conn_closed("send_timeout");
    server_metrics_matches(10, 2, 3);
    server_metrics_model("0123456789abcdef", 20000, 8, 0.012);
    struct server_gauges g = {.queue_depth = 3,
                              .queue_capacity = 16,
                              .workers = 2,
                              .workers_busy = 1,
                              .connections = 4,
                              .in_flight = 5};
    char *text = server_metrics_render(&g);
    assert_non_null(text);
    const char *want[] = {
        "# TYPE mixtape_reco_requests_total counter\n",
        "mixtape_reco_requests_total{method=\"Recommend\",code=\"OK\"} 2\n",
        "mixtape_reco_requests_total{method=\"Recommend\",code=\"RESOURCE_EXHAUSTED\"} 1\n",
        "mixtape_reco_requests_total{method=\"other\",code=\"UNIMPLEMENTED\"} 1\n",
        "mixtape_reco_requests_total{method=\"none\",code=\"INVALID_ARGUMENT\"} 1\n",
        "mixtape_reco_requests_total{method=\"Health\",code=\"OK\"} 0\n",
        "# TYPE mixtape_reco_request_duration_seconds histogram\n",
        "mixtape_reco_request_duration_seconds_bucket{method=\"Recommend\",le=\"0.005\"} 2\n",
        "mixtape_reco_request_duration_seconds_bucket{method=\"Recommend\",le=\"0.25\"} 3\n",
        "mixtape_reco_request_duration_seconds_bucket{method=\"Recommend\",le=\"+Inf\"} 3\n",
        "mixtape_reco_request_duration_seconds_count{method=\"Recommend\"} 3\n",
        "mixtape_reco_queue_wait_seconds_bucket{le=\"0.005\"} 1\n",
        "mixtape_reco_queue_wait_seconds_count 1\n",
        "mixtape_reco_queue_depth 3\n",
        "mixtape_reco_queue_capacity 16\n",
        "mixtape_reco_workers 2\n",
        "mixtape_reco_workers_busy 1\n",
        "mixtape_reco_in_flight 5\n",
        "mixtape_reco_expired_dropped_total 2\n",
        "mixtape_reco_connections 4\n",
        "mixtape_reco_connections_closed_total{reason=\"send_timeout\"} 1\n",
        "mixtape_reco_saved_tracks_total{match=\"song\"} 10\n",
        "mixtape_reco_saved_tracks_total{match=\"artist_only\"} 2\n",
        "mixtape_reco_saved_tracks_total{match=\"unmatched\"} 3\n",
        "mixtape_reco_model_info{version=\"0123456789abcdef\"} 1\n",
        "mixtape_reco_model_rows 20000\n",
        "mixtape_reco_model_k 8\n",
        "mixtape_reco_model_load_seconds 0.012000\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing: %s\n--- in ---\n%s", want[i], text);
    assert_null(strstr(text, "Delete"));
    free(text);
}

static void test_model_version_sanitised(void **state)
{
    (void)state;
    server_metrics_reset();
    server_metrics_model("v1\"}\nfake 1", 1, 1, 0);
    struct server_gauges g = {0};
    char *text = server_metrics_render(&g);
    assert_non_null(text);
    assert_non_null(strstr(text, "mixtape_reco_model_info{version=\"v1__fake1\"} 1\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_model_version_sanitised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

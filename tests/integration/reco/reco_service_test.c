/* reco-service end to end: the real binaries on free ports, driven by the client library, by
 * reco-cli and by a raw nng socket. Malformed, truncated and oversized messages get the right
 * status and the next request is served; two instances behind one client answer 2,000
 * requests with one SIGKILLed in the middle; SIGHUP reloads without failing a request;
 * SIGTERM exits 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "reco.pb-c.h"
#include "rpc.h"
#include "rpc_envelope.h"
#include "saved_file.h"
#include "test_model.h"

#define ROWS 20000u
#define K    8u

static char model_path[320];
static char work_dir[256];

/* argv wants char *: these strings are never written through. */
static char *mutable(const char *s)
{
    return (char *)(uintptr_t)s;
}

static char cli_bin[4096], service_bin[4096], model_bin[4096];

static int setup(void **state)
{
    (void)state;
    snprintf(cli_bin, sizeof cli_bin, "%s", harness_binary("bin/reco-cli"));
    snprintf(service_bin, sizeof service_bin, "%s", harness_binary("bin/reco-service"));
    snprintf(model_bin, sizeof model_bin, "%s", harness_binary("bin/reco-model"));
    snprintf(work_dir, sizeof work_dir, "/tmp/reco_it_%d", (int)getpid());
    if (mkdir(work_dir, 0700) != 0)
        return -1;
    snprintf(model_path, sizeof model_path, "%s/model.bin", work_dir);
    return test_model_write(model_path, ROWS, K, 1);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void start_service(struct harness_proc *proc, const char *model, const char *const *extra)
{
    char *argv[24] = {service_bin, "--model", mutable(model), "--listen", "tcp://127.0.0.1:0",
                      "--workers", "4"};
    int argc = 7;
    for (; extra && *extra && argc < 22; extra++)
        argv[argc++] = mutable(*extra);
    argv[argc] = NULL;
    assert_int_equal(harness_start(proc, argv, NULL, 30000), 0);
    assert_non_null(strstr(proc->addr, "tcp://127.0.0.1:"));
}

/* A RecommendRequest for `count` saved ids starting at row `first` (every `step` rows). */
static uint8_t *recommend_request(uint32_t first, uint32_t count, uint32_t step, uint32_t n,
                                  size_t *len)
{
    Mixtape__Reco__SavedTrack *tracks = calloc(count + 1, sizeof *tracks);
    Mixtape__Reco__SavedTrack **ptrs = calloc(count + 1, sizeof *ptrs);
    char(*ids)[23] = calloc(count + 1, 23);
    assert_non_null(tracks);
    for (uint32_t i = 0; i < count; i++) {
        mixtape__reco__saved_track__init(&tracks[i]);
        test_model_id((first + i * step) % ROWS, ids[i]);
        tracks[i].id = ids[i];
        ptrs[i] = &tracks[i];
    }
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.saved = ptrs;
    req.n_saved = count;
    req.has_n = 1;
    req.n = n;
    *len = mixtape__reco__recommend_request__get_packed_size(&req);
    uint8_t *bytes = malloc(*len + 1);
    mixtape__reco__recommend_request__pack(&req, bytes);
    free(tracks);
    free(ptrs);
    free(ids);
    return bytes;
}

/* Checks a Recommend reply: n picks, none of them saved (rows first .. by step). Returns the
 * pick ids joined, for comparing answers (caller frees). */
static char *check_reply(const uint8_t *bytes, size_t len, uint32_t first, uint32_t count,
                         uint32_t step, uint32_t n)
{
    Mixtape__Reco__RecommendReply *reply = mixtape__reco__recommend_reply__unpack(NULL, len, bytes);
    assert_non_null(reply);
    assert_int_equal(reply->n_picks, n);
    assert_int_equal(reply->stats->by_id, count);
    char *joined = calloc(reply->n_picks * 23 + 1, 1);
    for (size_t i = 0; i < reply->n_picks; i++) {
        for (uint32_t s = 0; s < count; s++) {
            char id[23];
            test_model_id((first + s * step) % ROWS, id);
            if (strcmp(id, reply->picks[i]->id) == 0)
                fail_msg("pick %zu is saved track %s", i, id);
        }
        strcat(joined, reply->picks[i]->id);
    }
    mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
    return joined;
}

static void test_client_methods(void **state)
{
    (void)state;
    struct harness_proc proc;
    start_service(&proc, model_path, NULL);
    struct rpc_client *client = NULL;
    char err[256];
    assert_int_equal(rpc_client_open(&client, proc.addr, err, sizeof err), RPC_OK);

    size_t len;
    uint8_t *request = recommend_request(10, 100, 7, 50, &len);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    assert_int_equal(
        rpc_call(client, "Recommend", request, len, 10000, &reply, &reply_len, &message, NULL),
        RPC_OK);
    char *first = check_reply(reply, reply_len, 10, 100, 7, 50);
    free(reply);
    /* The same input gives the same playlist. */
    assert_int_equal(
        rpc_call(client, "Recommend", request, len, 10000, &reply, &reply_len, &message, NULL),
        RPC_OK);
    char *second = check_reply(reply, reply_len, 10, 100, 7, 50);
    assert_string_equal(first, second);
    free(first);
    free(second);
    free(reply);
    free(request);

    assert_int_equal(rpc_call(client, "Info", NULL, 0, 5000, &reply, &reply_len, &message, NULL),
                     RPC_OK);
    Mixtape__Reco__InfoReply *info = mixtape__reco__info_reply__unpack(NULL, reply_len, reply);
    assert_non_null(info);
    assert_int_equal(info->tracks, ROWS);
    assert_int_equal(info->k, K);
    assert_int_equal(info->n_features, 4);
    assert_int_equal(strlen(info->model_version), 16);
    mixtape__reco__info_reply__free_unpacked(info, NULL);
    free(reply);

    assert_int_equal(rpc_call(client, "Health", NULL, 0, 5000, &reply, &reply_len, &message, NULL),
                     RPC_OK);
    Mixtape__Reco__HealthReply *health =
        mixtape__reco__health_reply__unpack(NULL, reply_len, reply);
    assert_non_null(health);
    assert_true(health->serving);
    assert_true(health->requests >= 3);
    mixtape__reco__health_reply__free_unpacked(health, NULL);
    free(reply);

    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rpc_client_close(client);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cli(void **state)
{
    (void)state;
    struct harness_proc proc;
    start_service(&proc, model_path, NULL);
    char ids_path[300], json_path[300], bad_path[300];
    snprintf(ids_path, sizeof ids_path, "%s/likes.txt", work_dir);
    snprintf(json_path, sizeof json_path, "%s/YourLibrary.json", work_dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.txt", work_dir);
    char text[4096] = "# liked\n";
    for (uint32_t r = 0; r < 40; r++) {
        char id[23];
        test_model_id(r * 11, id);
        strcat(text, r % 2 ? "spotify:track:" : "https://open.spotify.com/track/");
        strcat(text, id);
        strcat(text, r % 2 ? "\n" : "?si=x\n");
    }
    write_file(ids_path, text);
    char id0[23], id1[23];
    test_model_id(5, id0);
    test_model_id(6, id1);
    snprintf(text, sizeof text,
             "{\"tracks\":[{\"artist\":\"Artist 5\",\"album\":\"A\",\"track\":\"Track 5\","
             "\"uri\":\"spotify:track:%s\"},{\"artist\":\"Artist 6\",\"album\":\"A\",\"track\":"
             "\"Track 6\",\"uri\":\"spotify:local:::x\"},{\"artist\":\"Artist 7\",\"track\":"
             "\"Track 7\",\"uri\":\"spotify:track:%s\"}]}",
             id0, id1);
    write_file(json_path, text);
    write_file(bad_path, "this is not an id\n");

    static char out[1 << 18], err[1 << 14];
    char *table_argv[] = {cli_bin,  "--endpoint", proc.addr, "recommend",
                          ids_path, "-n",         "10",      NULL};
    int rc = harness_run(table_argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 0)
        fail_msg("reco-cli recommend: exit %d: %s", rc, err);
    assert_non_null(strstr(out, "rank"));
    assert_non_null(strstr(out, "because you saved"));
    assert_non_null(strstr(out, "matched 40 of 40 saved tracks"));
    int lines = 0;
    for (char *p = out; (p = strstr(p, "Track ")) != NULL; p++)
        lines++;
    assert_true(lines >= 10);

    char *json_argv[] = {cli_bin,  "--endpoint", proc.addr, "recommend", json_path,
                         "--json", "-n",         "12",      NULL};
    rc = harness_run(json_argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 0)
        fail_msg("reco-cli recommend --json: exit %d: %s", rc, err);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    const cJSON *tracks = cJSON_GetObjectItemCaseSensitive(root, "tracks");
    assert_int_equal(cJSON_GetArraySize(tracks), 12);
    const cJSON *t;
    cJSON_ArrayForEach(t, tracks)
    {
        static const char *const fields[] = {"id",    "name",    "artists",
                                             "score", "cluster", "because"};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (!cJSON_GetObjectItemCaseSensitive(t, fields[f]))
                fail_msg("a track has no '%s'", fields[f]);
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "because")));
    }
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(root, "stats");
    /* Two by id, the local file by title and artist. */
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(stats, "by_id")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(stats, "by_title")->valueint, 1);
    cJSON_Delete(root);

    char *info_argv[] = {cli_bin, "--endpoint", proc.addr, "info", NULL};
    assert_int_equal(harness_run(info_argv, out, sizeof out, err, sizeof err, 30000), 0);
    assert_non_null(strstr(out, "tracks         20000"));
    char *health_argv[] = {cli_bin, "--endpoint", proc.addr, "health", NULL};
    assert_int_equal(harness_run(health_argv, out, sizeof out, err, sizeof err, 30000), 0);
    assert_non_null(strstr(out, "serving=true"));

    /* Errors: one line and a non-zero exit. */
    char *bad_argv[] = {cli_bin, "--endpoint", proc.addr, "recommend", bad_path, NULL};
    assert_int_equal(harness_run(bad_argv, out, sizeof out, err, sizeof err, 30000), 2);
    assert_non_null(strstr(err, "line 1: 'this is not an id' is not a Spotify track id"));
    char *down_argv[] = {cli_bin,  "--endpoint", "tcp://127.0.0.1:1", "--timeout-ms", "300",
                         "health", NULL};
    assert_int_equal(harness_run(down_argv, out, sizeof out, err, sizeof err, 30000), 1);
    assert_non_null(strstr(err, "UNAVAILABLE"));
    assert_non_null(strstr(err, "tcp://127.0.0.1:1"));
    assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */

    harness_stop(&proc, 10000);
}

/* Sends raw bytes on a fresh req socket; returns 0 with the decoded reply, or the nng error. */
static int raw_exchange(const char *addr, const uint8_t *bytes, size_t len, int timeout_ms,
                        struct rpc_reply *reply)
{
    nng_socket sock;
    assert_int_equal(nng_req0_open(&sock), 0);
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout_ms);
    nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, timeout_ms);
    nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
    assert_int_equal(nng_dial(sock, addr, NULL, 0), 0);
    int rv = nng_send(sock, (void *)(uintptr_t)bytes, len, 0);
    if (rv == 0) {
        char *buf = NULL;
        size_t got = 0;
        rv = nng_recv(sock, &buf, &got, NNG_FLAG_ALLOC);
        if (rv == 0) {
            char err[256];
            assert_int_equal(rpc_reply_decode((uint8_t *)buf, got, RPC_MAX_MESSAGE_BYTES, reply,
                                              err, sizeof err),
                             RPC_OK);
            nng_free(buf, got);
        }
    }
    nng_close(sock);
    return rv;
}

static uint8_t *envelope(uint64_t id, const char *method, uint32_t timeout_ms,
                         const uint8_t *payload, size_t payload_len, size_t *len)
{
    uint8_t *bytes = NULL;
    assert_int_equal(rpc_request_encode(id, method, timeout_ms, payload, payload_len, &bytes, len),
                     0);
    return bytes;
}

static void expect_health(const char *addr)
{
    size_t len;
    uint8_t *bytes = envelope(1, "Health", 5000, NULL, 0, &len);
    struct rpc_reply reply;
    assert_int_equal(raw_exchange(addr, bytes, len, 10000, &reply), 0);
    assert_int_equal(reply.code, RPC_OK);
    rpc_reply_clear(&reply);
    free(bytes);
}

static void test_bad_messages(void **state)
{
    (void)state;
    struct harness_proc proc;
    static const char *const limits[] = {
        "--max-message-bytes", "65536", "--max-saved", "100", "--max-n", "60", NULL};
    start_service(&proc, model_path, limits);

    size_t good_len;
    uint8_t *good = envelope(77, "Health", 5000, NULL, 0, &good_len);
    static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff};
    size_t len;
    uint8_t *payload;
    uint8_t *too_many_saved, *n_too_big, *no_saved, *unknown_ids, *bad_payload, *unknown_method,
        *expired;
    size_t too_many_len, n_big_len, no_saved_len, unknown_len, bad_payload_len, unknown_method_len,
        expired_len;
    payload = recommend_request(0, 101, 1, 50, &len);
    too_many_saved = envelope(2, "Recommend", 5000, payload, len, &too_many_len);
    free(payload);
    payload = recommend_request(0, 10, 1, 61, &len);
    n_too_big = envelope(3, "Recommend", 5000, payload, len, &n_big_len);
    free(payload);
    payload = recommend_request(0, 0, 1, 50, &len);
    no_saved = envelope(4, "Recommend", 5000, payload, len, &no_saved_len);
    free(payload);
    {
        Mixtape__Reco__SavedTrack t = MIXTAPE__RECO__SAVED_TRACK__INIT;
        t.id = "NotInTheCatalog0000000";
        Mixtape__Reco__SavedTrack *tp = &t;
        Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
        req.saved = &tp;
        req.n_saved = 1;
        len = mixtape__reco__recommend_request__get_packed_size(&req);
        payload = malloc(len);
        mixtape__reco__recommend_request__pack(&req, payload);
        unknown_ids = envelope(5, "Recommend", 5000, payload, len, &unknown_len);
        free(payload);
    }
    bad_payload = envelope(6, "Recommend", 5000, garbage, sizeof garbage, &bad_payload_len);
    unknown_method = envelope(7, "Delete", 5000, NULL, 0, &unknown_method_len);
    expired = envelope(8, "Health", 0, NULL, 0, &expired_len);
    size_t big_len = 100000;
    uint8_t *big_payload = calloc(1, big_len);
    uint8_t *oversized = envelope(9, "Recommend", 5000, big_payload, big_len, &len);
    size_t oversized_len = len;
    size_t huge_len = 200000;
    uint8_t *huge = calloc(1, huge_len);

    const struct {
        const char *what;
        const uint8_t *bytes;
        size_t len;
        enum rpc_code want;
        const char *says;
    } cases[] = {
        {"garbage", garbage, sizeof garbage, RPC_INVALID_ARGUMENT, "not a mixtape.rpc.Request"},
        {"truncated", good, good_len - 3, RPC_INVALID_ARGUMENT, "not a mixtape.rpc.Request"},
        {"empty", good, 0, RPC_INVALID_ARGUMENT, "not a mixtape.rpc.Request"},
        {"oversized", oversized, oversized_len, RPC_RESOURCE_EXHAUSTED,
         "exceeds the limit of 65536 bytes"},
        {"too many saved", too_many_saved, too_many_len, RPC_RESOURCE_EXHAUSTED,
         "saved: 101 tracks exceeds the limit of 100 (--max-saved)"},
        {"n too big", n_too_big, n_big_len, RPC_INVALID_ARGUMENT, "n: 61 is outside 1..60"},
        {"no saved", no_saved, no_saved_len, RPC_FAILED_PRECONDITION, "no saved tracks"},
        {"none resolve", unknown_ids, unknown_len, RPC_NOT_FOUND, "none of the 1 saved tracks"},
        {"bad payload", bad_payload, bad_payload_len, RPC_INVALID_ARGUMENT,
         "not a mixtape.reco.RecommendRequest"},
        {"unknown method", unknown_method, unknown_method_len, RPC_UNIMPLEMENTED, "'Delete'"},
        {"expired", expired, expired_len, RPC_DEADLINE_EXCEEDED, "deadline"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_reply reply;
        int rv = raw_exchange(proc.addr, cases[i].bytes, cases[i].len, 10000, &reply);
        if (rv != 0)
            fail_msg("%s: no reply: %s", cases[i].what, nng_strerror(rv));
        if (reply.code != cases[i].want || !reply.message || !strstr(reply.message, cases[i].says))
            fail_msg("%s: got %s '%s'", cases[i].what, rpc_code_name(reply.code),
                     reply.message ? reply.message : "");
        rpc_reply_clear(&reply);
        expect_health(proc.addr); /* and it goes on serving */
    }
    /* Over twice the limit the transport drops the connection unread; then it serves on. */
    struct rpc_reply reply;
    assert_int_not_equal(raw_exchange(proc.addr, huge, huge_len, 1000, &reply), 0);
    expect_health(proc.addr);
    assert_false(harness_exited(&proc, NULL));

    free(good);
    free(too_many_saved);
    free(n_too_big);
    free(no_saved);
    free(unknown_ids);
    free(bad_payload);
    free(unknown_method);
    free(expired);
    free(big_payload);
    free(oversized);
    free(huge);
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- load with faults ---- */

#define INPUTS 8u

struct load {
    struct rpc_client *client;
    uint8_t *requests[INPUTS];
    size_t lengths[INPUTS];
    char *expected[INPUTS]; /* pick ids, or NULL to accept any valid answer */
    int per_thread;
    uint32_t timeout_ms;
    atomic_int done;
    atomic_int failed;
    atomic_bool stop;
    atomic_llong late_from; /* calls started after this nng_clock() ... */
    atomic_int late_slow;   /* ... that took 300 ms or more */
};

static uint32_t input_first(uint32_t i)
{
    return 100 + i * 997;
}

static void *load_thread(void *arg)
{
    struct load *load = arg;
    for (int call = 0; call < load->per_thread && !atomic_load(&load->stop); call++) {
        uint32_t i = (uint32_t)call % INPUTS;
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        char *message = NULL;
        nng_time started = nng_clock();
        enum rpc_code code =
            rpc_call(load->client, "Recommend", load->requests[i], load->lengths[i],
                     load->timeout_ms, &reply, &reply_len, &message, NULL);
        long long late_from = atomic_load(&load->late_from);
        if (late_from > 0 && (long long)started >= late_from && nng_clock() - started >= 300)
            atomic_fetch_add(&load->late_slow, 1);
        bool ok = code == RPC_OK;
        if (ok) {
            Mixtape__Reco__RecommendReply *r =
                mixtape__reco__recommend_reply__unpack(NULL, reply_len, reply);
            ok = r && r->n_picks == 50;
            if (ok && load->expected[i]) {
                char joined[50 * 23 + 1] = "";
                for (size_t p = 0; p < r->n_picks; p++)
                    strcat(joined, r->picks[p]->id);
                ok = strcmp(joined, load->expected[i]) == 0;
            }
            if (r)
                mixtape__reco__recommend_reply__free_unpacked(r, NULL);
        }
        if (!ok) {
            atomic_fetch_add(&load->failed, 1);
            fprintf(stderr, "call failed: %s %s\n", rpc_code_name(code), message ? message : "");
        }
        free(reply);
        free(message);
        atomic_fetch_add(&load->done, 1);
    }
    return NULL;
}

static void load_prepare(struct load *load, const char *endpoints, bool expect_same)
{
    memset(load, 0, sizeof *load);
    char err[256];
    load->timeout_ms = 10000;
    assert_int_equal(rpc_client_open(&load->client, endpoints, err, sizeof err), RPC_OK);
    for (uint32_t i = 0; i < INPUTS; i++) {
        load->requests[i] =
            recommend_request(input_first(i), 30 + i * 20, 13, 50, &load->lengths[i]);
        if (!expect_same)
            continue;
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        char *message = NULL;
        assert_int_equal(rpc_call(load->client, "Recommend", load->requests[i], load->lengths[i],
                                  10000, &reply, &reply_len, &message, NULL),
                         RPC_OK);
        load->expected[i] = check_reply(reply, reply_len, input_first(i), 30 + i * 20, 13, 50);
        free(reply);
    }
}

/* nng 1.5.2 can hang closing a socket whose connections are being torn down at the same time
 * (nng issue #1813), and a hung close stalls every later close in the process; so the tests
 * stop the services before closing their client. rpc_client_close bounds the wait anyway. */
static void load_free(struct load *load)
{
    rpc_client_close(load->client);
    for (uint32_t i = 0; i < INPUTS; i++) {
        free(load->requests[i]);
        free(load->expected[i]);
    }
}

#define THREADS 4

static void test_failover(void **state)
{
    (void)state;
    struct harness_proc a, b;
    start_service(&a, model_path, NULL);
    start_service(&b, model_path, NULL);
    char endpoints[600];
    snprintf(endpoints, sizeof endpoints, "%s,%s", a.addr, b.addr);
    struct load load;
    load_prepare(&load, endpoints, true);
    load.per_thread = 2000 / THREADS;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &load), 0);
    while (atomic_load(&load.done) < 700)
        nng_msleep(2);
    harness_kill(&a); /* in the middle of the run, with requests in flight */
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    assert_int_equal(atomic_load(&load.done), 2000);
    assert_int_equal(atomic_load(&load.failed), 0);
    /* Servers first, so the client closes with no connection left (see load_free). */
    harness_stop(&b, 10000);
    load_free(&load);
}

static char *health_version(const char *addr)
{
    size_t len;
    uint8_t *bytes = envelope(1, "Health", 5000, NULL, 0, &len);
    struct rpc_reply reply;
    assert_int_equal(raw_exchange(addr, bytes, len, 10000, &reply), 0);
    free(bytes);
    assert_int_equal(reply.code, RPC_OK);
    Mixtape__Reco__HealthReply *h =
        mixtape__reco__health_reply__unpack(NULL, reply.payload_len, reply.payload);
    char *version = strdup(h->model_version);
    mixtape__reco__health_reply__free_unpacked(h, NULL);
    rpc_reply_clear(&reply);
    return version;
}

static void test_reload_and_term(void **state)
{
    (void)state;
    char reload_path[300];
    snprintf(reload_path, sizeof reload_path, "%s/reload.bin", work_dir);
    assert_int_equal(test_model_write(reload_path, ROWS, K, 10), 0);
    struct harness_proc proc;
    start_service(&proc, reload_path, NULL);
    char *before = health_version(proc.addr);

    struct load load;
    load_prepare(&load, proc.addr, false);
    load.per_thread = 1000000;
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &load), 0);
    for (uint64_t seed = 11; seed < 15; seed++) {
        assert_int_equal(test_model_write(reload_path, ROWS, K, seed), 0);
        kill(proc.pid, SIGHUP);
        nng_msleep(300);
    }
    /* The last reload may still be loading on a slow (or sanitized) build: wait until the
     * version holds still for a second, at most 30 s. */
    char *after = health_version(proc.addr);
    for (int waited = 0; waited < 30; waited++) {
        nng_msleep(1000);
        char *again = health_version(proc.addr);
        bool settled = strcmp(again, after) == 0;
        free(after);
        after = again;
        if (settled)
            break;
    }
    /* A broken file: the reload fails and the old model keeps serving. */
    char broken[320];
    snprintf(broken, sizeof broken, "%s.tmp", reload_path);
    write_file(broken, "not a model");
    assert_int_equal(rename(broken, reload_path), 0);
    kill(proc.pid, SIGHUP);
    nng_msleep(1000);
    char *still = health_version(proc.addr);
    /* The load threads stop before any assertion can leave the test with them running. */
    atomic_store(&load.stop, true);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    assert_string_not_equal(before, after);
    assert_string_equal(after, still);
    assert_true(atomic_load(&load.done) > 20);
    assert_int_equal(atomic_load(&load.failed), 0);

    /* SIGTERM with requests in flight: they finish, and the exit is clean. */
    atomic_store(&load.stop, false);
    atomic_store(&load.done, 0);
    load.per_thread = 40;
    load.timeout_ms = 1000; /* after the exit, calls end quickly with UNAVAILABLE */
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &load), 0);
    while (atomic_load(&load.done) < 10)
        nng_msleep(1);
    int status = harness_stop(&proc, 20000);
    atomic_store(&load.stop, true);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    load_free(&load);
    free(before);
    free(after);
    free(still);
}

/* The whole pipeline on reco-model's own output: a synthetic catalog (with duplicate releases
 * of the same song under several ids), a model built from it, and reco-cli reading 40 rows of
 * that catalog as the user's saved tracks. */
static void test_reco_model_pipeline(void **state)
{
    (void)state;
    char csv[320], model[320], saved_path[320];
    snprintf(csv, sizeof csv, "%s/synth.csv", work_dir);
    snprintf(model, sizeof model, "%s/synth.model", work_dir);
    snprintf(saved_path, sizeof saved_path, "%s/saved.csv", work_dir);
    static char out[1 << 18], err[1 << 14];
    char *synth_argv[] = {model_bin, "synth", "--rows", "4000", "--seed", "7", "--out", csv, NULL};
    if (harness_run(synth_argv, out, sizeof out, err, sizeof err, 60000) != 0)
        fail_msg("reco-model synth: %s", err);
    char *build_argv[] = {model_bin, "build", "--catalog",  csv, "--out", model,
                          "--k",     "6",     "--restarts", "1", NULL};
    if (harness_run(build_argv, out, sizeof out, err, sizeof err, 120000) != 0)
        fail_msg("reco-model build: %s", err);

    /* The header and 40 rows of the catalog are the saved tracks. */
    FILE *in = fopen(csv, "r");
    FILE *saved_file = fopen(saved_path, "w");
    assert_non_null(in);
    assert_non_null(saved_file);
    static char line[8192];
    for (int i = 0; i <= 40 && fgets(line, sizeof line, in); i++)
        fputs(line, saved_file);
    fclose(in);
    fclose(saved_file);
    struct saved_list saved = {0};
    assert_int_equal(saved_file_read(saved_path, &saved, err, sizeof err), 0);
    assert_int_equal(saved.n, 40);

    struct harness_proc proc;
    start_service(&proc, model, NULL);
    char *argv[] = {cli_bin,  "--endpoint", proc.addr, "recommend", saved_path,
                    "--json", "-n",         "30",      NULL};
    int rc = harness_run(argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 0)
        fail_msg("reco-cli: exit %d: %s", rc, err);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(root, "stats");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(stats, "by_id")->valueint, 40);
    const cJSON *tracks = cJSON_GetObjectItemCaseSensitive(root, "tracks");
    assert_int_equal(cJSON_GetArraySize(tracks), 30);
    const cJSON *t;
    int index = 0;
    cJSON_ArrayForEach(t, tracks)
    {
        const char *id = cJSON_GetObjectItemCaseSensitive(t, "id")->valuestring;
        const char *name = cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring;
        const cJSON *artists = cJSON_GetObjectItemCaseSensitive(t, "artists");
        const char *artist = cJSON_GetArrayItem(artists, 0)->valuestring;
        for (size_t s = 0; s < saved.n; s++) {
            if (strcmp(id, saved.items[s].id) == 0)
                fail_msg("pick %d is saved track %s", index, id);
            if (strcmp(name, saved.items[s].name) == 0 &&
                strcmp(artist, saved.items[s].artists[0]) == 0)
                fail_msg("pick %d (%s by %s) is a release of a saved song", index, name, artist);
        }
        int later = 0;
        const cJSON *u;
        cJSON_ArrayForEach(u, tracks)
        {
            if (later++ <= index)
                continue;
            if (strcmp(name, cJSON_GetObjectItemCaseSensitive(u, "name")->valuestring) == 0 &&
                strcmp(artist, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(u, "artists"), 0)
                                   ->valuestring) == 0)
                fail_msg("'%s' by %s is in the playlist twice", name, artist);
        }
        index++;
    }
    cJSON_Delete(root);
    saved_list_free(&saved);
    harness_stop(&proc, 10000);
}

/* An instance that hangs (SIGSTOP) holding requests: each is sent again to the other one after
 * the client's resend interval, within the deadline. */
static void test_hung_instance(void **state)
{
    (void)state;
    struct harness_proc a, b;
    start_service(&a, model_path, NULL);
    start_service(&b, model_path, NULL);
    char endpoints[600];
    snprintf(endpoints, sizeof endpoints, "%s,%s", a.addr, b.addr);
    struct load load;
    load_prepare(&load, endpoints, true);
    kill(a.pid, SIGSTOP);
    load.per_thread = 4;
    load.timeout_ms = 5000;
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &load), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    kill(a.pid, SIGCONT);
    assert_int_equal(atomic_load(&load.done), 8);
    assert_int_equal(atomic_load(&load.failed), 0);
    harness_stop(&a, 10000);
    harness_stop(&b, 10000);
    load_free(&load);
}

/* The endpoint `url` as the client sees it; fails the test if it is not listed. */
static struct rpc_endpoint_status endpoint_of(struct rpc_client *client, const char *url)
{
    struct rpc_endpoint_status eps[8];
    size_t n = rpc_client_endpoints(client, eps, 8, NULL);
    for (size_t i = 0; i < n && i < 8; i++)
        if (strcmp(eps[i].url, url) == 0)
            return eps[i];
    fail_msg("endpoint %s is not listed", url);
    return eps[0];
}

/* Issue 16 on loopback: one of three instances frozen (SIGSTOP) under steady load. It is
 * ejected, calls keep flowing through the other two (no call fails; none started a second
 * into the freeze takes 300 ms), and once thawed it is probed, readmitted and used again
 * within 2 s. */
static void test_frozen_among_three(void **state)
{
    (void)state;
    struct harness_proc a, b, c;
    start_service(&a, model_path, NULL);
    start_service(&b, model_path, NULL);
    start_service(&c, model_path, NULL);
    char endpoints[900];
    snprintf(endpoints, sizeof endpoints, "%s,%s,%s", a.addr, b.addr, c.addr);
    struct load load;
    load_prepare(&load, endpoints, false);
    load.per_thread = 1 << 30;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &load), 0);
    nng_msleep(1000); /* the client learns the latency */
    int before = atomic_load(&load.done);
    nng_msleep(1000);
    int baseline = atomic_load(&load.done) - before;

    kill(b.pid, SIGSTOP);
    nng_time frozen = nng_clock();
    atomic_store(&load.late_from, (long long)frozen + 1000);
    before = atomic_load(&load.done);
    nng_msleep(3000);
    int during = atomic_load(&load.done) - before;
    struct rpc_endpoint_status sb = endpoint_of(load.client, b.addr);
    assert_string_equal(sb.state, "ejected");
    assert_true(sb.ejections >= 1);

    atomic_store(&load.late_from, 0);
    kill(b.pid, SIGCONT);
    nng_time thawed = nng_clock();
    uint64_t calls_at_thaw = sb.calls;
    for (;;) {
        sb = endpoint_of(load.client, b.addr);
        if (strcmp(sb.state, "active") == 0 && sb.calls > calls_at_thaw + 10)
            break;
        if (nng_clock() - thawed > 2000)
            fail_msg("the thawed instance got no traffic within 2 s (state %s, calls %llu)",
                     sb.state, (unsigned long long)sb.calls);
        nng_msleep(10);
    }
    nng_time back = nng_clock() - thawed;
    atomic_store(&load.stop, true);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    fprintf(stderr, "frozen among three: %d calls/s before, %d/s frozen, back in %llu ms\n",
            baseline, during / 3, (unsigned long long)back);
    assert_int_equal(atomic_load(&load.failed), 0);
    assert_int_equal(atomic_load(&load.late_slow), 0);
    /* Two of three instances carry on (the full bar, 60%, is the cluster test's, on hosts of
     * their own; here all share the machine's cores with the client). */
    assert_true(during / 3 >= baseline * 4 / 10);
    harness_stop(&a, 10000);
    harness_stop(&b, 10000);
    harness_stop(&c, 10000);
    load_free(&load);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_methods),  cmocka_unit_test(test_cli),
        cmocka_unit_test(test_bad_messages),    cmocka_unit_test(test_failover),
        cmocka_unit_test(test_hung_instance),   cmocka_unit_test(test_frozen_among_three),
        cmocka_unit_test(test_reload_and_term), cmocka_unit_test(test_reco_model_pipeline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

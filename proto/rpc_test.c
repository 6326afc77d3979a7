/* Tests of the RPC layer: envelopes round-trip and malformed ones are refused with the right
 * code; the client spreads calls, retries UNAVAILABLE and a vanished instance on another one,
 * and reports deadlines and unreachable endpoints. Servers here are in-process nng rep
 * sockets on inproc:// addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "rpc.h"
#include "rpc_envelope.h"

static void test_request_round_trip(void **state)
{
    (void)state;
    const uint8_t payload[] = {0, 1, 2, 0xff};
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(
        rpc_request_encode(42, "Recommend", 1500, payload, sizeof payload, &bytes, &len), 0);
    struct rpc_request req;
    char err[256];
    assert_int_equal(rpc_request_decode(bytes, len, RPC_MAX_MESSAGE_BYTES, &req, err, sizeof err),
                     RPC_OK);
    assert_int_equal(req.request_id, 42);
    assert_string_equal(req.method, "Recommend");
    assert_int_equal(req.timeout_ms, 1500);
    assert_int_equal(req.payload_len, sizeof payload);
    assert_memory_equal(req.payload, payload, sizeof payload);
    /* Stamped with the sender's wall clock, for the server's unread-time check. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t now_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    assert_true(req.sent_unix_us > 0 && req.sent_unix_us <= now_us &&
                now_us - req.sent_unix_us < 5000000u);
    rpc_request_free(&req);
    free(bytes);

    /* No payload at all is fine (Health). */
    assert_int_equal(rpc_request_encode(7, "Health", 10, NULL, 0, &bytes, &len), 0);
    assert_int_equal(rpc_request_decode(bytes, len, RPC_MAX_MESSAGE_BYTES, &req, err, sizeof err),
                     RPC_OK);
    assert_int_equal(req.payload_len, 0);
    rpc_request_free(&req);
    free(bytes);
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    static const struct {
        enum rpc_code code;
        const char *message;
        const char *payload;
    } cases[] = {
        {RPC_OK, NULL, "picks"},
        {RPC_OK, NULL, NULL},
        {RPC_INVALID_ARGUMENT, "n: 900 exceeds the limit of 500", NULL},
        {RPC_UNAVAILABLE, "draining", NULL},
        {RPC_RESOURCE_EXHAUSTED, "saved: 30000 exceeds 20000", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        size_t payload_len = cases[i].payload ? strlen(cases[i].payload) : 0;
        uint8_t *bytes = rpc_reply_encode(99 + i, cases[i].code, cases[i].message,
                                          (const uint8_t *)cases[i].payload, payload_len, &len);
        struct rpc_reply reply;
        char err[256];
        assert_int_equal(
            rpc_reply_decode(bytes, len, RPC_MAX_MESSAGE_BYTES, &reply, err, sizeof err), RPC_OK);
        assert_int_equal(reply.request_id, 99 + i);
        assert_int_equal(reply.code, cases[i].code);
        if (cases[i].message)
            assert_string_equal(reply.message, cases[i].message);
        else
            assert_null(reply.message);
        assert_int_equal(reply.payload_len, payload_len);
        if (payload_len)
            assert_memory_equal(reply.payload, cases[i].payload, payload_len);
        rpc_reply_clear(&reply);
        free(bytes);
    }
}

static void test_malformed_requests(void **state)
{
    (void)state;
    uint8_t *good = NULL;
    size_t good_len = 0;
    assert_int_equal(
        rpc_request_encode(5, "Info", 100, (const uint8_t *)"xyz", 3, &good, &good_len), 0);
    char long_method[RPC_MAX_METHOD + 2];
    memset(long_method, 'm', sizeof long_method - 1);
    long_method[sizeof long_method - 1] = '\0';
    /* A hand-built Request with a 65-byte method: field 1 varint, 2 string, 3 varint. */
    uint8_t long_env[128];
    size_t n = 0;
    long_env[n++] = 0x08;
    long_env[n++] = 0x01;
    long_env[n++] = 0x12;
    long_env[n++] = (uint8_t)strlen(long_method);
    memcpy(long_env + n, long_method, strlen(long_method));
    n += strlen(long_method);
    long_env[n++] = 0x18;
    long_env[n++] = 0x01;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t missing_method[] = {0x08, 0x01, 0x18, 0x05}; /* id and timeout only */
    static const uint8_t empty_method[] = {0x08, 0x01, 0x12, 0x00, 0x18, 0x05};
    const struct {
        const char *what;
        const uint8_t *bytes;
        size_t len;
        size_t max;
        enum rpc_code want;
        const char *says;
    } cases[] = {
        {"garbage", garbage, sizeof garbage, RPC_MAX_MESSAGE_BYTES, RPC_INVALID_ARGUMENT,
         "not a mixtape.rpc.Request"},
        {"truncated", good, good_len - 2, RPC_MAX_MESSAGE_BYTES, RPC_INVALID_ARGUMENT,
         "not a mixtape.rpc.Request"},
        {"empty", good, 0, RPC_MAX_MESSAGE_BYTES, RPC_INVALID_ARGUMENT,
         "not a mixtape.rpc.Request"},
        {"missing method", missing_method, sizeof missing_method, RPC_MAX_MESSAGE_BYTES,
         RPC_INVALID_ARGUMENT, "not a mixtape.rpc.Request"},
        {"empty method", empty_method, sizeof empty_method, RPC_MAX_MESSAGE_BYTES,
         RPC_INVALID_ARGUMENT, "method: 0 bytes"},
        {"long method", long_env, n, RPC_MAX_MESSAGE_BYTES, RPC_INVALID_ARGUMENT,
         "method: 65 bytes, must be 1..64"},
        {"oversized", good, good_len, good_len - 1, RPC_RESOURCE_EXHAUSTED, "exceeds the limit of"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rpc_request req;
        char err[256] = "";
        enum rpc_code code =
            rpc_request_decode(cases[i].bytes, cases[i].len, cases[i].max, &req, err, sizeof err);
        if (code != cases[i].want || !strstr(err, cases[i].says))
            fail_msg("%s: got %s '%s'", cases[i].what, rpc_code_name(code), err);
        assert_null(req.decoded);
        assert_int_equal(req.request_id, 0);
    }
    struct rpc_reply reply = {0};
    char err[256];
    assert_int_equal(rpc_reply_decode(garbage, sizeof garbage, 1000, &reply, err, sizeof err),
                     RPC_INTERNAL);
    assert_int_equal(rpc_reply_decode(good, good_len, good_len - 1, &reply, err, sizeof err),
                     RPC_RESOURCE_EXHAUSTED);
    uint8_t *bad_method = NULL;
    size_t bad_len = 0;
    assert_int_equal(rpc_request_encode(1, "", 1, NULL, 0, &bad_method, &bad_len), -1);
    assert_int_equal(rpc_request_encode(1, long_method, 1, NULL, 0, &bad_method, &bad_len), -1);
    free(good);
}

/* An in-process server: answers each request according to its mode. */
enum server_mode {
    SERVE_ECHO,
    SERVE_UNAVAILABLE,
    SERVE_SWALLOW,
    SERVE_HANG,
    SERVE_UNAVAILABLE_THEN_WRONG_ID, /* UNAVAILABLE once, then replies for another request id */
};

struct test_server {
    nng_socket socket;
    pthread_t thread;
    enum server_mode mode;
    char name[16];
    atomic_int received;
    atomic_bool stop;
};

static void *serve(void *arg)
{
    struct test_server *server = arg;
    for (;;) {
        nng_msg *msg = NULL;
        if (nng_recvmsg(server->socket, &msg, 0) != 0)
            return NULL;
        atomic_fetch_add(&server->received, 1);
        struct rpc_request req;
        char err[256];
        enum rpc_code code = rpc_request_decode(nng_msg_body(msg), nng_msg_len(msg),
                                                RPC_MAX_MESSAGE_BYTES, &req, err, sizeof err);
        if (server->mode == SERVE_SWALLOW) {
            /* Takes the request and dies without answering. */
            rpc_request_free(&req);
            nng_msg_free(msg);
            nng_close(server->socket);
            return NULL;
        }
        if (server->mode == SERVE_HANG) {
            /* Takes the request and never answers. */
            rpc_request_free(&req);
            nng_msg_free(msg);
            continue;
        }
        size_t len = 0;
        uint8_t *bytes;
        if (code != RPC_OK)
            bytes = rpc_reply_encode(0, code, err, NULL, 0, &len);
        else if (server->mode == SERVE_UNAVAILABLE ||
                 (server->mode == SERVE_UNAVAILABLE_THEN_WRONG_ID &&
                  atomic_load(&server->received) == 1))
            bytes = rpc_reply_encode(req.request_id, RPC_UNAVAILABLE, "draining", NULL, 0, &len);
        else if (server->mode == SERVE_UNAVAILABLE_THEN_WRONG_ID)
            bytes = rpc_reply_encode(req.request_id + 1000, RPC_OK, NULL, NULL, 0, &len);
        else
            bytes = rpc_reply_encode(req.request_id, RPC_OK, server->name,
                                     (const uint8_t *)server->name, strlen(server->name), &len);
        rpc_request_free(&req);
        nng_msg_clear(msg);
        nng_msg_append(msg, bytes, len);
        free(bytes);
        if (nng_sendmsg(server->socket, msg, 0) != 0)
            nng_msg_free(msg);
    }
}

static void server_start(struct test_server *server, const char *url, enum server_mode mode,
                         const char *name)
{
    memset(server, 0, sizeof *server);
    server->mode = mode;
    snprintf(server->name, sizeof server->name, "%s", name);
    assert_int_equal(nng_rep0_open(&server->socket), 0);
    assert_int_equal(nng_listen(server->socket, url, NULL, 0), 0);
    assert_int_equal(pthread_create(&server->thread, NULL, serve, server), 0);
}

static void server_stop(struct test_server *server)
{
    nng_close(server->socket); /* NNG_ECLOSED if already closed: fine */
    pthread_join(server->thread, NULL);
}

static void test_client_spreads_calls(void **state)
{
    (void)state;
    struct test_server a, b;
    server_start(&a, "inproc://spread-a", SERVE_ECHO, "a");
    server_start(&b, "inproc://spread-b", SERVE_ECHO, "b");
    struct rpc_client *client = NULL;
    char err[256];
    assert_int_equal(
        rpc_client_open(&client, "inproc://spread-a, inproc://spread-b", err, sizeof err), RPC_OK);
    nng_msleep(50);
    for (int i = 0; i < 40; i++) {
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        char *message = NULL;
        uint64_t id = 0;
        assert_int_equal(
            rpc_call(client, "Health", NULL, 0, 2000, &reply, &reply_len, &message, &id), RPC_OK);
        assert_int_equal(reply_len, 1);
        assert_true(reply[0] == 'a' || reply[0] == 'b');
        free(reply);
        free(message);
    }
    assert_true(atomic_load(&a.received) >= 10);
    assert_true(atomic_load(&b.received) >= 10);
    rpc_client_close(client);
    server_stop(&a);
    server_stop(&b);
}

static void test_client_retries_elsewhere(void **state)
{
    (void)state;
    static const struct {
        enum server_mode first;
        const char *what;
    } cases[] = {
        {SERVE_UNAVAILABLE, "an instance answering UNAVAILABLE"},
        {SERVE_SWALLOW, "an instance that dies holding the request"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_server bad, good;
        char url_bad[64], url_good[64], list[160];
        snprintf(url_bad, sizeof url_bad, "inproc://retry-bad-%zu", i);
        snprintf(url_good, sizeof url_good, "inproc://retry-good-%zu", i);
        snprintf(list, sizeof list, "%s,%s", url_bad, url_good);
        server_start(&bad, url_bad, cases[i].first, "bad");
        server_start(&good, url_good, SERVE_ECHO, "good");
        struct rpc_client *client = NULL;
        char err[256];
        assert_int_equal(rpc_client_open(&client, list, err, sizeof err), RPC_OK);
        nng_msleep(50);
        for (int call = 0; call < 10; call++) {
            uint8_t *reply = NULL;
            size_t reply_len = 0;
            char *message = NULL;
            enum rpc_code code =
                rpc_call(client, "Info", NULL, 0, 3000, &reply, &reply_len, &message, NULL);
            if (code != RPC_OK)
                fail_msg("%s: call %d got %s (%s)", cases[i].what, call, rpc_code_name(code),
                         message ? message : "");
            assert_memory_equal(reply, "good", 4);
            free(reply);
            free(message);
        }
        assert_true(atomic_load(&bad.received) >= 1);
        rpc_client_close(client);
        server_stop(&bad);
        server_stop(&good);
    }
}

/* A reply for another request after a retry: INTERNAL naming both ids, and the retry's
 * message freed (LeakSanitizer fails this test if it is not). */
static void test_client_wrong_id_after_retry(void **state)
{
    (void)state;
    struct test_server server;
    server_start(&server, "inproc://wrong-id", SERVE_UNAVAILABLE_THEN_WRONG_ID, "w");
    struct rpc_client *client = NULL;
    char err[256];
    assert_int_equal(rpc_client_open(&client, "inproc://wrong-id", err, sizeof err), RPC_OK);
    nng_msleep(50);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    uint64_t id = 0;
    assert_int_equal(rpc_call(client, "Health", NULL, 0, 3000, &reply, &reply_len, &message, &id),
                     RPC_INTERNAL);
    assert_null(reply);
    assert_non_null(message);
    char expected[64];
    snprintf(expected, sizeof expected, "expected %llu", (unsigned long long)id);
    assert_non_null(strstr(message, expected));
    assert_int_equal(atomic_load(&server.received), 2);
    free(message);
    rpc_client_close(client);
    server_stop(&server);
}

static void test_client_errors(void **state)
{
    (void)state;
    struct rpc_client *client = NULL;
    char err[256];
    static const char *bad_lists[] = {"", " , ", "nonsense://x", "tcp://"};
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
        err[0] = '\0';
        if (rpc_client_open(&client, bad_lists[i], err, sizeof err) != RPC_INVALID_ARGUMENT)
            fail_msg("'%s' was accepted", bad_lists[i]);
        assert_true(strlen(err) > 0);
    }

    /* Nobody listening: UNAVAILABLE naming the endpoint, after the deadline. */
    assert_int_equal(rpc_client_open(&client, "inproc://nobody-here", err, sizeof err), RPC_OK);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    assert_int_equal(rpc_call(client, "Health", NULL, 0, 200, &reply, &reply_len, &message, NULL),
                     RPC_UNAVAILABLE);
    assert_non_null(strstr(message, "inproc://nobody-here"));
    free(message);

    /* An oversized request is refused before it is sent. */
    size_t big_len = RPC_MAX_MESSAGE_BYTES + 1;
    uint8_t *big = calloc(1, big_len);
    assert_non_null(big);
    message = NULL;
    assert_int_equal(
        rpc_call(client, "Recommend", big, big_len, 200, &reply, &reply_len, &message, NULL),
        RPC_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(message, "exceeds the limit"));
    free(message);
    free(big);
    rpc_client_close(client);

    /* An instance that takes the request and never answers: DEADLINE_EXCEEDED, in time. */
    struct test_server silent;
    server_start(&silent, "inproc://silent", SERVE_HANG, "silent");
    assert_int_equal(rpc_client_open(&client, "inproc://silent", err, sizeof err), RPC_OK);
    nng_msleep(50);
    message = NULL;
    nng_time start = nng_clock();
    assert_int_equal(rpc_call(client, "Health", NULL, 0, 300, &reply, &reply_len, &message, NULL),
                     RPC_DEADLINE_EXCEEDED);
    nng_time took = nng_clock() - start;
    assert_true(took >= 290 && took < 1500);
    assert_non_null(strstr(message, "no answer within 300 ms"));
    free(message);
    /* An empty method cannot be sent at all. */
    message = NULL;
    assert_int_equal(rpc_call(client, "", NULL, 0, 200, &reply, &reply_len, &message, NULL),
                     RPC_INVALID_ARGUMENT);
    free(message);
    rpc_client_close(client);
    server_stop(&silent);

    /* Only an instance that answers UNAVAILABLE: retried until the deadline, then the last
     * answer is reported (and nothing leaks on the way). A second of deadline, so a loaded
     * machine still fits several attempts (150 ms once fitted only one). */
    struct test_server draining;
    server_start(&draining, "inproc://only-draining", SERVE_UNAVAILABLE, "draining");
    assert_int_equal(rpc_client_open(&client, "inproc://only-draining", err, sizeof err), RPC_OK);
    message = NULL;
    enum rpc_code code =
        rpc_call(client, "Health", NULL, 0, 1000, &reply, &reply_len, &message, NULL);
    assert_true(code == RPC_UNAVAILABLE || code == RPC_DEADLINE_EXCEEDED);
    assert_non_null(message);
    assert_true(atomic_load(&draining.received) >= 2);
    free(message);
    rpc_client_close(client);
    server_stop(&draining);
}

struct pending_call {
    struct rpc_client *client;
    enum rpc_code code;
};

static void *call_and_wait(void *arg)
{
    struct pending_call *call = arg;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    call->code =
        rpc_call(call->client, "Health", NULL, 0, 5000, &reply, &reply_len, &message, NULL);
    free(reply);
    free(message);
    return NULL;
}

/* Closing the client ends a call that is waiting, at once, with UNAVAILABLE. */
static void test_close_ends_calls(void **state)
{
    (void)state;
    struct test_server silent;
    server_start(&silent, "inproc://close-ends", SERVE_HANG, "silent");
    struct pending_call call = {.code = RPC_OK};
    char err[256];
    assert_int_equal(rpc_client_open(&call.client, "inproc://close-ends", err, sizeof err), RPC_OK);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, call_and_wait, &call), 0);
    while (atomic_load(&silent.received) == 0)
        nng_msleep(5);
    nng_time start = nng_clock();
    rpc_client_close(call.client);
    pthread_join(thread, NULL);
    assert_true(nng_clock() - start < 1000);
    assert_int_equal(call.code, RPC_UNAVAILABLE);
    server_stop(&silent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_client_spreads_calls),
        cmocka_unit_test(test_client_retries_elsewhere),
        cmocka_unit_test(test_client_wrong_id_after_retry),
        cmocka_unit_test(test_client_errors),
        cmocka_unit_test(test_close_ends_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

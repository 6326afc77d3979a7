/* Live discovery's pure parts: which entries are names, and the diff between two resolved
 * sets; plus a lookup of localhost (no network: the hosts file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "resolve.h"

static void test_entry_name(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *port; /* host NULL: not a name */
    } cases[] = {
        {"tcp://reco-headless.default.svc:7100", "reco-headless.default.svc", "7100"},
        {"tcp://localhost:1", "localhost", "1"},
        {"tcp://198.18.0.101:7100", NULL, NULL},
        {"tcp://[::1]:7100", NULL, NULL},
        {"tcp://*:7100", NULL, NULL},
        {"ipc:///tmp/reco.sock", NULL, NULL},
        {"inproc://x", NULL, NULL},
        {"tcp://name", NULL, NULL},
        {"tcp://name:", NULL, NULL},
        {"tcp://name:70x0", NULL, NULL},
        {"tcp://:7100", NULL, NULL},
        {"tcp4://name:7100", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[RESOLVE_MAX_HOST] = "", port[16] = "";
        bool is_name = resolve_entry_name(cases[i].url, host, port);
        if (is_name != (cases[i].host != NULL))
            fail_msg("%s: name %d", cases[i].url, is_name);
        if (is_name) {
            assert_string_equal(host, cases[i].host);
            assert_string_equal(port, cases[i].port);
        }
    }
}

static void fill(char urls[][RESOLVE_MAX_URL], const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        strcpy(urls[i], list[i]);
}

static void test_diff(void **state)
{
    (void)state;
    static const struct {
        const char *old[4], *fresh[4];
        size_t n_old, n_fresh, changes;
        bool gone[4], added[4];
    } cases[] = {
        /* unchanged */
        {{"a", "b"}, {"a", "b"}, 2, 2, 0, {false, false}, {false, false}},
        /* two added (scale out through DNS) */
        {{"a", "b"}, {"a", "b", "c", "d"}, 2, 4, 2, {false, false}, {false, false, true, true}},
        /* one removed */
        {{"a", "b", "c"}, {"b", "c"}, 3, 2, 1, {true, false, false}, {false, false}},
        /* replaced entirely */
        {{"a", "b"}, {"c"}, 2, 1, 3, {true, true}, {true}},
        /* from nothing (the first lookup) and to nothing */
        {{0}, {"a", "b"}, 0, 2, 2, {false}, {true, true}},
        {{"a"}, {0}, 1, 0, 1, {true}, {false}},
        /* interleaved */
        {{"a", "c", "e"}, {"b", "c", "d"}, 3, 3, 4, {true, false, true}, {true, false, true}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char old[4][RESOLVE_MAX_URL], fresh[4][RESOLVE_MAX_URL];
        bool gone[4] = {0}, added[4] = {0};
        fill(old, cases[c].old, cases[c].n_old);
        fill(fresh, cases[c].fresh, cases[c].n_fresh);
        size_t changes = resolve_diff(old, cases[c].n_old, fresh, cases[c].n_fresh, gone, added);
        if (changes != cases[c].changes)
            fail_msg("case %zu: %zu changes, want %zu", c, changes, cases[c].changes);
        for (size_t i = 0; i < cases[c].n_old; i++)
            if (gone[i] != cases[c].gone[i])
                fail_msg("case %zu: old %s gone=%d", c, cases[c].old[i], gone[i]);
        for (size_t j = 0; j < cases[c].n_fresh; j++)
            if (added[j] != cases[c].added[j])
                fail_msg("case %zu: fresh %s added=%d", c, cases[c].fresh[j], added[j]);
    }
}

static void test_lookup(void **state)
{
    (void)state;
    char urls[RESOLVE_MAX_ADDRS][RESOLVE_MAX_URL];
    char err[256];
    int n = resolve_lookup("localhost", "7100", urls, RESOLVE_MAX_ADDRS, err, sizeof err);
    assert_true(n >= 1);
    bool v4 = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(urls[i], "tcp://127.0.0.1:7100") == 0)
            v4 = true;
        if (i > 0)
            assert_true(strcmp(urls[i - 1], urls[i]) < 0); /* sorted, no duplicates */
    }
    assert_true(v4);
    /* .invalid never resolves (RFC 6761). */
    assert_int_equal(
        resolve_lookup("nothing.invalid", "7100", urls, RESOLVE_MAX_ADDRS, err, sizeof err), -1);
    assert_non_null(strstr(err, "nothing.invalid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_name),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

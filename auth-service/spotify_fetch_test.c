/* spotify_fetch_saved against spotify-emu when one of its allocations fails: each of the three
 * (the slots for every track, the per-page counts, the calls for the other pages) in turn must
 * end in SPOTIFY_ERR_INTERNAL with nothing leaked and nothing dereferenced that is not there;
 * the same read with memory to spare then brings the whole library. calloc is wrapped at link
 * time (-Wl,--wrap=calloc) so the test can fail exactly the allocation it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "emu_client.h"
#include "spotify.h"
#include "spotify_call.h"

#define LIBRARY 120 /* three pages of SPOTIFY_PAGE_LIMIT */
#define PAGES   ((LIBRARY + SPOTIFY_PAGE_LIMIT - 1) / SPOTIFY_PAGE_LIMIT)

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

/* The allocation to fail once: calloc(fail_n, fail_size) from our own code. */
static size_t fail_n, fail_size;
static int failed;

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_size != 0 && n == fail_n && size == fail_size) {
        fail_size = 0;
        failed++;
        return NULL;
    }
    return __real_calloc(n, size);
}

static struct harness_proc emu;
static char base[300];
static struct emu_tokens tokens;

static int setup(void **state)
{
    (void)state;
    char size[16];
    snprintf(size, sizeof size, "%d", LIBRARY);
    char *args[] = {"--library-size", size, NULL};
    if (emu_client_start(&emu, args) != 0)
        return -1;
    snprintf(base, sizeof base, "http://%s", emu.addr);
    return emu_client_sign_in(base, "demo", "user-library-read", &tokens);
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&emu, 5000);
    return 0;
}

static enum spotify_status fetch(struct saved_library *lib)
{
    struct spotify_settings settings = {
        .accounts_base = base,
        .api_base = base,
        .api_origin = base,
        .client_id = EMU_CLIENT_ID,
        .redirect_uri = EMU_CLIENT_REDIRECT_URI,
        .connections = 4,
        .timeout_ms = 5000,
        .budget_ms = 10000,
    };
    struct spotify_tokens t = {.access_expires = 0};
    snprintf(t.access_token, sizeof t.access_token, "%s", tokens.access_token);
    snprintf(t.refresh_token, sizeof t.refresh_token, "%s", tokens.refresh_token);
    struct spotify_client *client = spotify_client_new(&settings, &t);
    assert_non_null(client);
    enum spotify_status status = spotify_fetch_saved(client, lib, NULL, NULL);
    spotify_client_free(client);
    return status;
}

static void test_each_allocation_failing(void **state)
{
    (void)state;
    static const struct {
        size_t n, size;
        const char *what;
    } cases[] = {
        {LIBRARY, sizeof(struct saved_track), "the slots"},
        {PAGES, sizeof(size_t), "the page counts"},
        {PAGES - 1, sizeof(struct call), "the calls"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct saved_library lib = {0};
        failed = 0;
        fail_n = cases[i].n;
        fail_size = cases[i].size;
        enum spotify_status status = fetch(&lib);
        fail_size = 0;
        if (failed != 1)
            fail_msg("%s: the allocation was not made as expected", cases[i].what);
        if (status != SPOTIFY_ERR_INTERNAL)
            fail_msg("%s failing: %s, expected an internal error", cases[i].what,
                     spotify_strerror(status));
        assert_null(lib.tracks);
        spotify_library_free(&lib);
    }
}

static void test_whole_library_with_memory(void **state)
{
    (void)state;
    struct saved_library lib = {0};
    assert_int_equal(fetch(&lib), SPOTIFY_OK);
    assert_int_equal(lib.total, LIBRARY);
    assert_int_equal(lib.pages, PAGES);
    assert_true(lib.count > 0 && lib.count <= LIBRARY);
    spotify_library_free(&lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_allocation_failing),
        cmocka_unit_test(test_whole_library_with_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

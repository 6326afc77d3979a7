/* Tests of reco-cli's steering flags: every flag parsed through the options table and turned
 * into request fields, and every bad value refused with a message naming its flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steer_flags.h"

/* Runs options_parse over the steering rows alone with args (NULL-terminated), then
 * steer_flags_apply. Returns 0 when both succeed; what either printed or reported is in said. */
static int parse(const char *const *args, struct reco_rpc_request *req, char *said, size_t said_len)
{
    struct steer_flags flags;
    steer_flags_init(&flags);
    struct option_spec specs[STEER_FLAGS_COUNT];
    steer_flags_specs(&flags, specs);
    char *argv[16] = {"reco-cli"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)(uintptr_t)args[argc - 1];
    char *positional[16];
    int n_positional = 0;
    /* options_parse reports on stderr: catch it. */
    FILE *caught = tmpfile();
    assert_non_null(caught);
    fflush(stderr);
    int saved_fd = dup(2);
    dup2(fileno(caught), 2);
    enum options_result parsed =
        options_parse(specs, STEER_FLAGS_COUNT, argc, argv, "usage", positional, &n_positional);
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    rewind(caught);
    size_t got = fread(said, 1, said_len - 1, caught);
    said[got] = '\0';
    fclose(caught);
    if (parsed != OPTIONS_OK)
        return -1;
    assert_int_equal(n_positional, 0);
    *req = (struct reco_rpc_request){0};
    return steer_flags_apply(&flags, req, said, said_len);
}

static void test_good_values(void **state)
{
    (void)state;
    struct reco_rpc_request req;
    char said[512];

    const char *none[] = {NULL};
    assert_int_equal(parse(none, &req, said, sizeof said), 0);
    assert_false(req.has_discover || req.energy.set || req.valence.set || req.danceability.set ||
                 req.tempo.set || req.no_explicit);
    assert_int_equal(req.year_from, 0);
    assert_int_equal(req.year_to, 0);

    const char *all[] = {"--discover",     "0.25", "--energy", "0.9",   "--valence", "0",
                         "--danceability", "1",    "--tempo",  "128.5", "--years",   "1990-1999",
                         "--no-explicit",  NULL};
    assert_int_equal(parse(all, &req, said, sizeof said), 0);
    assert_true(req.has_discover && req.discover == 0.25f);
    assert_true(req.energy.set && req.energy.value == 0.9f);
    assert_true(req.valence.set && req.valence.value == 0.0f);
    assert_true(req.danceability.set && req.danceability.value == 1.0f);
    assert_true(req.tempo.set && req.tempo.value == 128.5f);
    assert_int_equal(req.year_from, 1990);
    assert_int_equal(req.year_to, 1999);
    assert_true(req.no_explicit);

    static const struct {
        const char *args[3];
        uint32_t from, to;
    } ranges[] = {
        {{"--years", "1990-", NULL}, 1990, 0},        {{"--years", "-1999", NULL}, 0, 1999},
        {{"--years", "1995", NULL}, 1995, 1995},      {{"--years=1900-2100", NULL}, 1900, 2100},
        {{"--years", "2000-2000", NULL}, 2000, 2000},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        assert_int_equal(parse(ranges[i].args, &req, said, sizeof said), 0);
        assert_int_equal(req.year_from, ranges[i].from);
        assert_int_equal(req.year_to, ranges[i].to);
    }
    const char *edges[] = {"--discover=1", "--tempo", "1", "--energy", "0", NULL};
    assert_int_equal(parse(edges, &req, said, sizeof said), 0);
    assert_true(req.discover == 1.0f && req.tempo.value == 1.0f && req.energy.set);
    const char *tempo_max[] = {"--tempo", "300", NULL};
    assert_int_equal(parse(tempo_max, &req, said, sizeof said), 0);
    assert_true(req.tempo.value == 300.0f);
}

static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        const char *says; /* part of the one line printed */
    } cases[] = {
        {{"--discover", "-0.1"}, "--discover (command line): -0.1 is outside 0..1"},
        {{"--discover", "1.01"}, "--discover (command line): 1.01 is outside 0..1"},
        {{"--discover", "lots"}, "--discover (command line): 'lots' is not a number"},
        {{"--discover", "nan"}, "--discover (command line): 'nan' is not a number"},
        {{"--discover", "inf"}, "--discover (command line): 'inf' is not a number"},
        {{"--discover", ""}, "--discover (command line): '' is not a number"},
        {{"--discover", NULL}, "--discover needs a value"},
        {{"--energy", "2"}, "--energy (command line): 2 is outside 0..1"},
        {{"--energy", "-1"}, "--energy (command line): -1 is outside 0..1"},
        {{"--energy", "0.5x"}, "--energy (command line): '0.5x' is not a number"},
        {{"--valence", "x"}, "--valence (command line): 'x' is not a number"},
        {{"--valence", "1.5"}, "--valence (command line): 1.5 is outside 0..1"},
        {{"--danceability", "1.5"}, "--danceability (command line): 1.5 is outside 0..1"},
        {{"--danceability", "-0.01"}, "--danceability (command line): -0.01 is outside 0..1"},
        {{"--tempo", "0"}, "--tempo (command line): 0 is outside 1..300"},
        {{"--tempo", "0.5"}, "--tempo (command line): 0.5 is outside 1..300"},
        {{"--tempo", "301"}, "--tempo (command line): 301 is outside 1..300"},
        {{"--tempo", "-120"}, "--tempo (command line): -120 is outside 1..300"},
        {{"--tempo", "fast"}, "--tempo (command line): 'fast' is not a number"},
        {{"--no-explicit=maybe", NULL}, "--no-explicit (command line): 'maybe' is not a boolean"},
        {{"--years", "1990-19999"}, "--years: '1990-19999' is not FROM-TO"},
        {{"--years", "19x0"}, "--years: '19x0' is not FROM-TO"},
        {{"--years", "1899-1950"}, "--years: '1899-1950' is not FROM-TO with years 1900..2100"},
        {{"--years", "2101"}, "--years: '2101' is not FROM-TO"},
        {{"--years", "2000-1990"}, "--years: 2000 comes after 1990"},
        {{"--years", "-"}, "--years: '-' is not FROM-TO"},
        {{"--years", ""}, "--years: '' is not FROM-TO"},
        {{"--years", "1990--1999"}, "--years: '1990--1999' is not FROM-TO"},
        {{"--years", "1990-2000-2010"}, "--years: '1990-2000-2010' is not FROM-TO"},
        {{"--years", " 1990"}, "--years: ' 1990' is not FROM-TO"},
        {{"--years", "+1990"}, "--years: '+1990' is not FROM-TO"},
        {{"--years", NULL}, "--years needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct reco_rpc_request req;
        char said[512];
        if (parse(cases[i].args, &req, said, sizeof said) == 0)
            fail_msg("%s %s: accepted", cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "");
        if (!strstr(said, cases[i].says))
            fail_msg("%s %s: said '%s', want '%s'", cases[i].args[0],
                     cases[i].args[1] ? cases[i].args[1] : "", said, cases[i].says);
        size_t lines = 0;
        for (const char *c = said; *c; c++)
            lines += *c == '\n';
        assert_true(lines <= 1); /* one line */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the emulator's PKCE checks: the RFC 7636 appendix B example and the verifier
 * rules (length 43..128, unreserved characters only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pkce.h"

static void test_rfc7636_example(void **state)
{
    (void)state;
    char challenge[EMU_PKCE_CHALLENGE_LEN + 1];
    emu_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge);
    assert_string_equal(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_true(emu_pkce_verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    assert_false(emu_pkce_verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
                                 "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
}

static void test_verifier_rules(void **state)
{
    (void)state;
    char text[200];
    static const struct {
        size_t length;
        char fill;
        bool valid;
    } CASES[] = {
        {42, 'a', false}, {43, 'a', true},  {128, 'Z', true}, {129, 'a', false},
        {60, '~', true},  {60, '+', false}, {60, '/', false}, {60, '=', false},
        {0, 'a', false},  {50, '.', true},  {50, '-', true},  {50, '_', true},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        memset(text, CASES[i].fill, CASES[i].length);
        text[CASES[i].length] = '\0';
        assert_int_equal(emu_pkce_verifier_valid(text), CASES[i].valid);
        /* A verifier outside the rules never verifies, even against its own challenge. */
        char challenge[EMU_PKCE_CHALLENGE_LEN + 1];
        emu_pkce_challenge(text, challenge);
        assert_int_equal(emu_pkce_verify(text, challenge), CASES[i].valid);
    }
}

static void test_challenge_shape(void **state)
{
    (void)state;
    assert_true(emu_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    assert_false(emu_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
    assert_false(emu_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
    assert_false(emu_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_example),
        cmocka_unit_test(test_verifier_rules),
        cmocka_unit_test(test_challenge_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

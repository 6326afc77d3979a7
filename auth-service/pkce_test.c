/* PKCE against RFC 7636 appendix B, verifier validation, and base64url round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base64url.h"
#include "pkce.h"

static void test_rfc7636_appendix_b(void **state)
{
    (void)state;
    char challenge[PKCE_CHALLENGE_LEN + 1];
    assert_int_equal(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge),
                     PKCE_OK);
    assert_string_equal(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_verifier_rules(void **state)
{
    (void)state;
    static const struct {
        const char *verifier;
        enum pkce_status want;
    } cases[] = {
        {"short", PKCE_ERR_VERIFIER},
        {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX", PKCE_ERR_VERIFIER},  /* 42 chars */
        {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX~", PKCE_OK},           /* 43 chars */
        {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEj+k", PKCE_ERR_VERIFIER}, /* '+' */
        {"dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk", PKCE_ERR_VERIFIER}, /* space */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char challenge[PKCE_CHALLENGE_LEN + 1];
        assert_int_equal(pkce_challenge(cases[i].verifier, challenge), cases[i].want);
    }
    char long_verifier[130];
    memset(long_verifier, 'a', 129);
    long_verifier[129] = '\0';
    char challenge[PKCE_CHALLENGE_LEN + 1];
    assert_int_equal(pkce_challenge(long_verifier, challenge), PKCE_ERR_VERIFIER);
    long_verifier[128] = '\0';
    assert_int_equal(pkce_challenge(long_verifier, challenge), PKCE_OK);
}

static void test_fresh_values_are_valid_and_differ(void **state)
{
    (void)state;
    char a[PKCE_VERIFIER_LEN + 1], b[PKCE_VERIFIER_LEN + 1];
    assert_int_equal(pkce_new_verifier(a), PKCE_OK);
    assert_int_equal(pkce_new_verifier(b), PKCE_OK);
    assert_int_equal(strlen(a), PKCE_VERIFIER_LEN);
    assert_string_not_equal(a, b);
    char challenge[PKCE_CHALLENGE_LEN + 1];
    assert_int_equal(pkce_challenge(a, challenge), PKCE_OK);
    assert_int_equal(strlen(challenge), PKCE_CHALLENGE_LEN);
    char s1[PKCE_STATE_LEN + 1], s2[PKCE_STATE_LEN + 1];
    assert_int_equal(pkce_new_state(s1), PKCE_OK);
    assert_int_equal(pkce_new_state(s2), PKCE_OK);
    assert_int_equal(strlen(s1), PKCE_STATE_LEN);
    assert_string_not_equal(s1, s2);
}

static void test_base64url_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors, unpadded. */
    static const struct {
        const char *plain;
        const char *encoded;
    } cases[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
                 {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        base64url_encode((const uint8_t *)cases[i].plain, strlen(cases[i].plain), out);
        assert_string_equal(out, cases[i].encoded);
        assert_int_equal(strlen(out), base64url_encoded_len(strlen(cases[i].plain)));
        uint8_t back[32];
        size_t n = 0;
        assert_int_equal(base64url_decode(out, strlen(out), back, sizeof back, &n), 0);
        assert_int_equal(n, strlen(cases[i].plain));
        assert_memory_equal(back, cases[i].plain, n);
    }
    uint8_t out[8];
    size_t n;
    assert_int_equal(base64url_decode("Zm9vYg==", 8, out, sizeof out, &n), 0); /* padding ok */
    assert_int_equal(n, 4);
    assert_int_equal(base64url_decode("Zm9v!g", 6, out, sizeof out, &n), -1); /* bad char */
    assert_int_equal(base64url_decode("Zm9vY", 5, out, sizeof out, &n), -1);  /* bad length */
    assert_int_equal(base64url_decode("Zh", 2, out, sizeof out, &n), -1);     /* stray bits */
    assert_int_equal(base64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);        /* too big */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7636_appendix_b),
        cmocka_unit_test(test_verifier_rules),
        cmocka_unit_test(test_fresh_values_are_valid_and_differ),
        cmocka_unit_test(test_base64url_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* PKCE verification for the emulated Accounts service: see pkce.h. */
#include "pkce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

static bool unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool emu_pkce_verifier_valid(const char *verifier)
{
    size_t n = strlen(verifier);
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!unreserved(verifier[i]))
            return false;
    return true;
}

bool emu_pkce_challenge_valid(const char *challenge)
{
    size_t n = strlen(challenge);
    if (n != EMU_PKCE_CHALLENGE_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = challenge[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void emu_base64url(const unsigned char *bytes, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, bytes, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
}

void emu_pkce_challenge(const char *verifier, char out[EMU_PKCE_CHALLENGE_LEN + 1])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    char encoded[48];
    emu_base64url(digest, sizeof digest, encoded);
    memcpy(out, encoded, EMU_PKCE_CHALLENGE_LEN + 1);
}

bool emu_pkce_verify(const char *verifier, const char *challenge)
{
    if (!emu_pkce_verifier_valid(verifier) || !emu_pkce_challenge_valid(challenge))
        return false;
    char expected[EMU_PKCE_CHALLENGE_LEN + 1];
    emu_pkce_challenge(verifier, expected);
    return CRYPTO_memcmp(expected, challenge, EMU_PKCE_CHALLENGE_LEN) == 0;
}

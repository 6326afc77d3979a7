/* PKCE verifier, S256 challenge and sign-in state: see pkce.h. */
#include "pkce.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base64url.h"

const char *pkce_strerror(enum pkce_status status)
{
    switch (status) {
    case PKCE_OK:
        return "ok";
    case PKCE_ERR_RANDOM:
        return "no random bytes available from the operating system";
    case PKCE_ERR_VERIFIER:
        return "code verifier must be 43..128 characters of A-Z a-z 0-9 - . _ ~";
    }
    return "unknown pkce status";
}

static enum pkce_status random_text(size_t bytes, char *out)
{
    uint8_t raw[96];
    if (RAND_bytes(raw, (int)bytes) != 1)
        return PKCE_ERR_RANDOM;
    base64url_encode(raw, bytes, out);
    return PKCE_OK;
}

enum pkce_status pkce_new_verifier(char out[PKCE_VERIFIER_LEN + 1])
{
    return random_text(PKCE_VERIFIER_LEN / 4 * 3, out);
}

enum pkce_status pkce_new_state(char out[PKCE_STATE_LEN + 1])
{
    return random_text(PKCE_STATE_LEN / 4 * 3, out);
}

enum pkce_status pkce_challenge(const char *verifier, char out[PKCE_CHALLENGE_LEN + 1])
{
    size_t len = strlen(verifier);
    if (len < 43 || len > 128)
        return PKCE_ERR_VERIFIER;
    for (size_t i = 0; i < len; i++) {
        char c = verifier[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~';
        if (!ok)
            return PKCE_ERR_VERIFIER;
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, len, digest);
    base64url_encode(digest, sizeof digest, out);
    return PKCE_OK;
}

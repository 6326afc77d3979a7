/* PKCE (RFC 7636) for the Authorization Code sign-in: a random code verifier, its S256
 * challenge, and the random `state` that binds a sign-in to the browser that started it. */
#ifndef MIXTAPE_AUTH_PKCE_H
#define MIXTAPE_AUTH_PKCE_H

#include <stddef.h>

/* Our verifiers are 64 characters: 48 random bytes in base64url (RFC 7636 allows 43..128). */
#define PKCE_VERIFIER_LEN  64
#define PKCE_CHALLENGE_LEN 43 /* base64url of a SHA-256 digest, unpadded */
#define PKCE_STATE_LEN     32 /* 24 random bytes in base64url */

enum pkce_status { PKCE_OK = 0, PKCE_ERR_RANDOM, PKCE_ERR_VERIFIER };

/* "ok", "no random bytes available", ...; never NULL. */
const char *pkce_strerror(enum pkce_status status);

/* Fills out (PKCE_VERIFIER_LEN + 1 bytes) with a fresh verifier from the OS CSPRNG.
 * Thread-safe. */
enum pkce_status pkce_new_verifier(char out[PKCE_VERIFIER_LEN + 1]);

/* Fills out (PKCE_STATE_LEN + 1 bytes) with a fresh random state. Thread-safe. */
enum pkce_status pkce_new_state(char out[PKCE_STATE_LEN + 1]);

/* Computes base64url(SHA-256(verifier)) into out (PKCE_CHALLENGE_LEN + 1 bytes). The verifier
 * must be 43..128 characters of [A-Za-z0-9-._~], else PKCE_ERR_VERIFIER. */
enum pkce_status pkce_challenge(const char *verifier, char out[PKCE_CHALLENGE_LEN + 1]);

#endif

/* PKCE (RFC 7636) as Spotify's Accounts service checks it: S256 only, verifier of 43-128
 * characters of [A-Za-z0-9-._~], challenge = base64url(SHA-256(verifier)) without padding.
 * Threads: pure functions, callable from any thread. */
#ifndef EMU_PKCE_H
#define EMU_PKCE_H

#include <stdbool.h>
#include <stddef.h>

#define EMU_PKCE_CHALLENGE_LEN 43 /* base64url of 32 bytes, unpadded */

/* True if verifier has 43..128 characters, all from [A-Za-z0-9-._~]. */
bool emu_pkce_verifier_valid(const char *verifier);

/* True if challenge is exactly 43 base64url characters. */
bool emu_pkce_challenge_valid(const char *challenge);

/* Writes base64url(SHA-256(verifier)) (43 characters + NUL) into out. */
void emu_pkce_challenge(const char *verifier, char out[EMU_PKCE_CHALLENGE_LEN + 1]);

/* True if verifier is valid and its challenge equals challenge (compared in constant time). */
bool emu_pkce_verify(const char *verifier, const char *challenge);

/* Writes the unpadded base64url encoding of bytes[0..n) into out (at least 4*n/3+3 bytes). */
void emu_base64url(const unsigned char *bytes, size_t n, char *out);

#endif

/* base64url without padding (RFC 4648 section 5): the encoding of PKCE challenges and of our
 * encrypted cookies, both of which travel in URLs and headers. */
#ifndef MIXTAPE_AUTH_BASE64URL_H
#define MIXTAPE_AUTH_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64url_encode writes for len bytes, without the terminating NUL. */
size_t base64url_encoded_len(size_t len);

/* Writes the unpadded base64url text of bytes[0..len) and a NUL into out, which must hold
 * base64url_encoded_len(len) + 1 bytes. Returns the characters written (without the NUL). */
size_t base64url_encode(const uint8_t *bytes, size_t len, char *out);

/* Decodes text[0..len) (base64url; standard '+' '/' and trailing '=' padding are also
 * accepted, so keys can be pasted from `openssl rand -base64 32`) into out, which holds
 * out_cap bytes. Returns 0 and *out_len, or -1 on a character outside the alphabet, an
 * impossible length, non-zero trailing bits, or a result larger than out_cap. */
int base64url_decode(const char *text, size_t len, uint8_t *out, size_t out_cap, size_t *out_len);

#endif

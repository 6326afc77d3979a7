/* Encrypted cookie sessions: AES-256-GCM (OpenSSL EVP) with key rotation, so no server-side
 * store is needed and any front can serve any user. Holds the signed-in session (user, tokens,
 * expiry) and the short-lived sign-in leg (state + PKCE verifier) bound to the browser. */
#ifndef MIXTAPE_AUTH_SESSION_H
#define MIXTAPE_AUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_KEY_BYTES 32
#define SESSION_MAX_KEYS  8
/* Largest cookie value we write or accept (browsers keep about 4096 bytes per cookie, name and
 * attributes included). Longer values are refused unread. */
#define SESSION_MAX_COOKIE_LEN 3600
#define SESSION_MAX_TOKEN_LEN  1024 /* bytes of an access or refresh token */
#define SESSION_MAX_NAME_LEN   256  /* bytes of a user id or display name */
#define SESSION_VERSION        1
#define SESSION_SID_LEN        22 /* base64url of 16 random bytes: the session id */

/* Cookie names and the purposes bound into each one's authenticated data, so a sign-in cookie
 * can never be replayed as a session cookie or the other way round. */
#define SESSION_COOKIE "mixtape_session"
#define LOGIN_COOKIE   "mixtape_login"

/* Over https the cookies are named with this prefix ("__Host-mixtape_session"): browsers then
 * only accept them Secure, with Path=/ and no Domain, so neither a sibling subdomain nor a
 * plain-http page can plant or shadow one. Plain-http loopback (development) keeps the bare
 * names, since browsers refuse a __Host- cookie without Secure. */
#define SESSION_HOST_PREFIX      "__Host-"
#define SESSION_COOKIE_NAME_SIZE 32 /* bytes for any cookie name, NUL included */

enum session_status {
    SESSION_OK = 0,
    SESSION_ERR_KEY,       /* a key is not base64 of exactly 32 bytes, or there are too many */
    SESSION_ERR_KEY_FILE,  /* the key file cannot be read or is too large */
    SESSION_ERR_FORMAT,    /* not base64url, too short, or the plaintext is not ours */
    SESSION_ERR_VERSION,   /* a version byte we do not know */
    SESSION_ERR_KEY_ID,    /* sealed with a key we do not hold (foreign or retired) */
    SESSION_ERR_AUTH,      /* authentication tag mismatch: tampered or truncated */
    SESSION_ERR_EXPIRED,   /* authentic but past its expiry */
    SESSION_ERR_TOO_LARGE, /* a field or the cookie is over its limit */
    SESSION_ERR_CRYPTO,    /* OpenSSL failed (no randomness, no cipher) */
};

/* A short human-readable reason; never NULL. */
const char *session_strerror(enum session_status status);

/* The keys: the first encrypts, all decrypt. Plain data; copy freely; read-only once built,
 * so any number of threads may use one keyring at once. */
struct session_keyring {
    size_t count;
    uint8_t keys[SESSION_MAX_KEYS][SESSION_KEY_BYTES];
    uint8_t ids[SESSION_MAX_KEYS][4]; /* first bytes of a SHA-256 of the key, sent in cookies */
};

/* Parses a list of base64 (or base64url) 32-byte keys separated by commas, whitespace or
 * newlines; lines starting with '#' are comments. Returns SESSION_OK and fills *out, else
 * SESSION_ERR_KEY with err naming which key (by position, never its text) and why. */
enum session_status session_keyring_parse(struct session_keyring *out, const char *list, char *err,
                                          size_t err_len);

/* Reads a key file (at most 16 KiB, same syntax as session_keyring_parse). */
enum session_status session_keyring_load_file(struct session_keyring *out, const char *path,
                                              char *err, size_t err_len);

/* One fresh random key (for a single front started without keys). */
enum session_status session_keyring_random(struct session_keyring *out);

/* Encrypts plain[0..len) under the first key with a fresh random nonce, binding `purpose`.
 * Writes base64url(version | key id | nonce | ciphertext | tag) to *cookie (malloc'd, caller
 * frees). SESSION_ERR_TOO_LARGE if the result would exceed SESSION_MAX_COOKIE_LEN. */
enum session_status session_seal(const struct session_keyring *keys, const char *purpose,
                                 const uint8_t *plain, size_t len, char **cookie);

/* Reverses session_seal with any key of the ring. On SESSION_OK, *plain (malloc'd,
 * NUL-terminated, caller frees) and *len hold the plaintext; nothing is written otherwise. */
enum session_status session_open(const struct session_keyring *keys, const char *purpose,
                                 const char *cookie, size_t cookie_len, uint8_t **plain,
                                 size_t *len);

/* A signed-in user. */
struct session {
    char user_id[SESSION_MAX_NAME_LEN + 1];
    char display_name[SESSION_MAX_NAME_LEN + 1];
    char access_token[SESSION_MAX_TOKEN_LEN + 1];
    char refresh_token[SESSION_MAX_TOKEN_LEN + 1];
    int64_t access_expires; /* unix seconds when the access token stops working */
    int64_t expires;        /* unix seconds when the session ends (sign in again) */
    /* Random at sign-in and kept across re-seals: what POST /logout revokes (revoked.h). */
    char sid[SESSION_SID_LEN + 1];
    /* Unix seconds after which the cookie is refused unless re-issued first (sliding: every
     * signed-in request past half its idle time re-issues it); never after expires. */
    int64_t fresh_until;
};

/* A new random session id into sid. Returns 0, or -1 when the random source failed. */
int session_new_sid(char sid[SESSION_SID_LEN + 1]);

/* Seals a session as a SESSION_COOKIE value (*cookie malloc'd, caller frees). */
enum session_status session_encode(const struct session_keyring *keys, const struct session *s,
                                   char **cookie);

/* Opens a SESSION_COOKIE value; SESSION_ERR_EXPIRED if s->expires <= now or s->fresh_until
 * <= now; SESSION_ERR_FORMAT without a session id (a cookie from before ids). On SESSION_OK
 * fills *out; any other status means "signed out". */
enum session_status session_decode(const struct session_keyring *keys, const char *cookie,
                                   size_t cookie_len, int64_t now, struct session *out);

/* Writes the name the cookie of `purpose` (SESSION_COOKIE or LOGIN_COOKIE) goes by into out:
 * SESSION_HOST_PREFIX + purpose when secure (PUBLIC_URL is https), else purpose. The purpose
 * bound into the sealed value stays the bare one in both modes. */
void session_cookie_name(const char *purpose, bool secure, char out[SESSION_COOKIE_NAME_SIZE]);

/* Formats one response header "Set-Cookie: name=value; Path=/; Max-Age=N; HttpOnly;
 * SameSite=Lax[; Secure]\r\n" into out (cap bytes, NUL-terminated); never a Domain. name
 * comes from session_cookie_name (a __Host- name needs secure). Returns the length, or -1
 * (out set to "") when it does not fit or a __Host- name is asked without secure. */
int session_cookie_header(char *out, size_t cap, const char *name, const char *value, long max_age,
                          bool secure);

/* The sign-in leg between /login and /callback. */
struct login_state {
    char state[65];
    char verifier[129];
    int64_t expires;
};

/* Seals and opens a LOGIN_COOKIE value, like session_encode / session_decode. */
enum session_status login_encode(const struct session_keyring *keys, const struct login_state *l,
                                 char **cookie);
enum session_status login_decode(const struct session_keyring *keys, const char *cookie,
                                 size_t cookie_len, int64_t now, struct login_state *out);

#endif

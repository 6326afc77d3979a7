/* AES-256-GCM cookies with key rotation, and the two things we keep in them: see session.h. */
#include "session.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "json_limit.h"

#define NONCE_BYTES  12
#define TAG_BYTES    16
#define HEADER_BYTES (1 + 4 + NONCE_BYTES)
#define MAX_RAW      (SESSION_MAX_COOKIE_LEN / 4 * 3 + 3)
#define MAX_KEY_FILE (16 * 1024)

const char *session_strerror(enum session_status status)
{
    switch (status) {
    case SESSION_OK:
        return "ok";
    case SESSION_ERR_KEY:
        return "bad session key";
    case SESSION_ERR_KEY_FILE:
        return "cannot read the session key file";
    case SESSION_ERR_FORMAT:
        return "cookie is not in our format";
    case SESSION_ERR_VERSION:
        return "cookie version unknown";
    case SESSION_ERR_KEY_ID:
        return "cookie sealed with a key we do not hold";
    case SESSION_ERR_AUTH:
        return "cookie failed authentication (tampered or truncated)";
    case SESSION_ERR_EXPIRED:
        return "cookie expired";
    case SESSION_ERR_TOO_LARGE:
        return "cookie or one of its fields is over its size limit";
    case SESSION_ERR_CRYPTO:
        return "encryption failed";
    }
    return "unknown session status";
}

static void key_id(const uint8_t key[SESSION_KEY_BYTES], uint8_t id[4])
{
    static const char LABEL[] = "mixtape session key id";
    uint8_t input[sizeof LABEL + SESSION_KEY_BYTES];
    memcpy(input, LABEL, sizeof LABEL);
    memcpy(input + sizeof LABEL, key, SESSION_KEY_BYTES);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(input, sizeof input, digest);
    memcpy(id, digest, 4);
}

enum session_status session_keyring_parse(struct session_keyring *out, const char *list, char *err,
                                          size_t err_len)
{
    struct session_keyring ring = {0};
    const char *p = list;
    while (*p) {
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (*p == ',' || isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - start);
        if (ring.count == SESSION_MAX_KEYS) {
            snprintf(err, err_len, "at most %d session keys are accepted", SESSION_MAX_KEYS);
            return SESSION_ERR_KEY;
        }
        uint8_t key[64];
        size_t key_len = 0;
        if (base64url_decode(start, len, key, sizeof key, &key_len) != 0 ||
            key_len != SESSION_KEY_BYTES) {
            snprintf(err, err_len,
                     "session key %zu is not base64 of exactly %d bytes (make one with "
                     "`openssl rand -base64 32`)",
                     ring.count + 1, SESSION_KEY_BYTES);
            return SESSION_ERR_KEY;
        }
        memcpy(ring.keys[ring.count], key, SESSION_KEY_BYTES);
        key_id(key, ring.ids[ring.count]);
        ring.count++;
    }
    if (ring.count == 0) {
        snprintf(err, err_len, "no session key given");
        return SESSION_ERR_KEY;
    }
    *out = ring;
    return SESSION_OK;
}

enum session_status session_keyring_load_file(struct session_keyring *out, const char *path,
                                              char *err, size_t err_len)
{
    enum session_status status = SESSION_ERR_KEY_FILE;
    char *text = malloc(MAX_KEY_FILE + 1);
    FILE *f = fopen(path, "r");
    if (!f || !text) {
        snprintf(err, err_len, "cannot open session key file %s", path);
        goto done;
    }
    size_t n = fread(text, 1, MAX_KEY_FILE + 1, f);
    if (n > MAX_KEY_FILE) {
        snprintf(err, err_len, "session key file %s is larger than %d bytes", path, MAX_KEY_FILE);
        goto done;
    }
    text[n] = '\0';
    status = session_keyring_parse(out, text, err, err_len);
done:
    if (f)
        fclose(f);
    if (text) {
        OPENSSL_cleanse(text, MAX_KEY_FILE + 1);
        free(text);
    }
    return status;
}

enum session_status session_keyring_random(struct session_keyring *out)
{
    struct session_keyring ring = {0};
    if (RAND_bytes(ring.keys[0], SESSION_KEY_BYTES) != 1)
        return SESSION_ERR_CRYPTO;
    key_id(ring.keys[0], ring.ids[0]);
    ring.count = 1;
    *out = ring;
    return SESSION_OK;
}

/* Runs AES-256-GCM over in[0..len) into out; on decryption, tag is checked. Returns 0 or -1. */
static int gcm(bool encrypt, const uint8_t key[SESSION_KEY_BYTES], const uint8_t *nonce,
               const uint8_t *aad, size_t aad_len, const char *purpose, const uint8_t *in,
               size_t len, uint8_t *out, uint8_t tag[TAG_BYTES])
{
    int rc = -1;
    int n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        goto done;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt ? 1 : 0) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) != 1)
        goto done;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt ? 1 : 0) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)purpose, (int)strlen(purpose)) != 1)
        goto done;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto done;
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + (len > 0 ? n : 0), &n) != 1)
        goto done;
    if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) != 1)
        goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

enum session_status session_seal(const struct session_keyring *keys, const char *purpose,
                                 const uint8_t *plain, size_t len, char **cookie)
{
    enum session_status status = SESSION_ERR_TOO_LARGE;
    uint8_t *raw = NULL;
    char *text = NULL;
    size_t raw_len = HEADER_BYTES + len + TAG_BYTES;
    if (keys->count == 0)
        return SESSION_ERR_KEY;
    if (base64url_encoded_len(raw_len) > SESSION_MAX_COOKIE_LEN)
        goto done;
    status = SESSION_ERR_CRYPTO;
    raw = malloc(raw_len);
    text = malloc(base64url_encoded_len(raw_len) + 1);
    if (!raw || !text)
        goto done;
    raw[0] = SESSION_VERSION;
    memcpy(raw + 1, keys->ids[0], 4);
    if (RAND_bytes(raw + 5, NONCE_BYTES) != 1)
        goto done;
    if (gcm(true, keys->keys[0], raw + 5, raw, HEADER_BYTES, purpose, plain, len,
            raw + HEADER_BYTES, raw + HEADER_BYTES + len) != 0)
        goto done;
    base64url_encode(raw, raw_len, text);
    *cookie = text;
    text = NULL;
    status = SESSION_OK;
done:
    free(raw);
    free(text);
    return status;
}

enum session_status session_open(const struct session_keyring *keys, const char *purpose,
                                 const char *cookie, size_t cookie_len, uint8_t **plain,
                                 size_t *len)
{
    if (cookie_len > SESSION_MAX_COOKIE_LEN)
        return SESSION_ERR_TOO_LARGE;
    uint8_t raw[MAX_RAW];
    size_t raw_len = 0;
    if (base64url_decode(cookie, cookie_len, raw, sizeof raw, &raw_len) != 0)
        return SESSION_ERR_FORMAT;
    if (raw_len < HEADER_BYTES + TAG_BYTES)
        return SESSION_ERR_FORMAT;
    if (raw[0] != SESSION_VERSION)
        return SESSION_ERR_VERSION;
    size_t body_len = raw_len - HEADER_BYTES - TAG_BYTES;
    enum session_status status = SESSION_ERR_KEY_ID;
    uint8_t *out = malloc(body_len + 1);
    if (!out)
        return SESSION_ERR_CRYPTO;
    for (size_t k = 0; k < keys->count; k++) {
        if (memcmp(keys->ids[k], raw + 1, 4) != 0)
            continue;
        if (gcm(false, keys->keys[k], raw + 5, raw, HEADER_BYTES, purpose, raw + HEADER_BYTES,
                body_len, out, raw + HEADER_BYTES + body_len) == 0) {
            out[body_len] = '\0';
            *plain = out;
            *len = body_len;
            return SESSION_OK;
        }
        status = SESSION_ERR_AUTH;
    }
    OPENSSL_cleanse(out, body_len);
    free(out);
    return status;
}

/* Copies a JSON string member into dst (cap bytes + NUL); -1 if absent, not a string, or long. */
static int copy_string(const cJSON *obj, const char *name, char *dst, size_t cap)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item) || strlen(item->valuestring) > cap)
        return -1;
    memcpy(dst, item->valuestring, strlen(item->valuestring) + 1);
    return 0;
}

static int copy_time(const cJSON *obj, const char *name, int64_t *dst)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < 0 ||
        item->valuedouble > 1e13)
        return -1;
    *dst = (int64_t)item->valuedouble;
    return 0;
}

/* Seals a JSON object and frees it (the plaintext is wiped before it is freed). */
static enum session_status seal_json(const struct session_keyring *keys, const char *purpose,
                                     cJSON *obj, char **cookie)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text)
        return SESSION_ERR_CRYPTO;
    size_t len = strlen(text);
    enum session_status status = session_seal(keys, purpose, (const uint8_t *)text, len, cookie);
    OPENSSL_cleanse(text, len);
    free(text);
    return status;
}

/* Opens a cookie whose plaintext is a JSON object; *obj is the caller's to cJSON_Delete. */
static enum session_status open_json(const struct session_keyring *keys, const char *purpose,
                                     const char *cookie, size_t cookie_len, cJSON **obj)
{
    uint8_t *plain = NULL;
    size_t len = 0;
    enum session_status status = session_open(keys, purpose, cookie, cookie_len, &plain, &len);
    if (status != SESSION_OK)
        return status;
    cJSON *parsed = json_parse_limited((const char *)plain, len, JSON_MAX_DEPTH, NULL);
    OPENSSL_cleanse(plain, len);
    free(plain);
    if (!cJSON_IsObject(parsed)) {
        cJSON_Delete(parsed);
        return SESSION_ERR_FORMAT;
    }
    *obj = parsed;
    return SESSION_OK;
}

int session_new_sid(char sid[SESSION_SID_LEN + 1])
{
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    base64url_encode(raw, sizeof raw, sid);
    sid[SESSION_SID_LEN] = '\0';
    return 0;
}

enum session_status session_encode(const struct session_keyring *keys, const struct session *s,
                                   char **cookie)
{
    if (strlen(s->user_id) > SESSION_MAX_NAME_LEN ||
        strlen(s->display_name) > SESSION_MAX_NAME_LEN ||
        strlen(s->access_token) > SESSION_MAX_TOKEN_LEN ||
        strlen(s->refresh_token) > SESSION_MAX_TOKEN_LEN)
        return SESSION_ERR_TOO_LARGE;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "u", s->user_id);
    cJSON_AddStringToObject(obj, "n", s->display_name);
    cJSON_AddStringToObject(obj, "a", s->access_token);
    cJSON_AddStringToObject(obj, "r", s->refresh_token);
    cJSON_AddNumberToObject(obj, "ax", (double)s->access_expires);
    cJSON_AddNumberToObject(obj, "x", (double)s->expires);
    cJSON_AddStringToObject(obj, "i", s->sid);
    cJSON_AddNumberToObject(obj, "f", (double)s->fresh_until);
    return seal_json(keys, SESSION_COOKIE, obj, cookie);
}

enum session_status session_decode(const struct session_keyring *keys, const char *cookie,
                                   size_t cookie_len, int64_t now, struct session *out)
{
    cJSON *obj = NULL;
    enum session_status status = open_json(keys, SESSION_COOKIE, cookie, cookie_len, &obj);
    if (status != SESSION_OK)
        return status;
    struct session *s = calloc(1, sizeof *s);
    status = SESSION_ERR_FORMAT;
    if (!s)
        goto done;
    if (copy_string(obj, "u", s->user_id, SESSION_MAX_NAME_LEN) != 0 ||
        copy_string(obj, "n", s->display_name, SESSION_MAX_NAME_LEN) != 0 ||
        copy_string(obj, "a", s->access_token, SESSION_MAX_TOKEN_LEN) != 0 ||
        copy_string(obj, "r", s->refresh_token, SESSION_MAX_TOKEN_LEN) != 0 ||
        copy_time(obj, "ax", &s->access_expires) != 0 || copy_time(obj, "x", &s->expires) != 0 ||
        copy_string(obj, "i", s->sid, SESSION_SID_LEN) != 0 || strlen(s->sid) != SESSION_SID_LEN ||
        copy_time(obj, "f", &s->fresh_until) != 0)
        goto done;
    status = SESSION_ERR_EXPIRED;
    if (s->expires <= now || s->fresh_until <= now)
        goto done;
    *out = *s;
    status = SESSION_OK;
done:
    if (s) {
        OPENSSL_cleanse(s, sizeof *s);
        free(s);
    }
    cJSON_Delete(obj);
    return status;
}

enum session_status login_encode(const struct session_keyring *keys, const struct login_state *l,
                                 char **cookie)
{
    if (strlen(l->state) >= sizeof l->state || strlen(l->verifier) >= sizeof l->verifier)
        return SESSION_ERR_TOO_LARGE;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "s", l->state);
    cJSON_AddStringToObject(obj, "v", l->verifier);
    cJSON_AddNumberToObject(obj, "x", (double)l->expires);
    return seal_json(keys, LOGIN_COOKIE, obj, cookie);
}

enum session_status login_decode(const struct session_keyring *keys, const char *cookie,
                                 size_t cookie_len, int64_t now, struct login_state *out)
{
    cJSON *obj = NULL;
    enum session_status status = open_json(keys, LOGIN_COOKIE, cookie, cookie_len, &obj);
    if (status != SESSION_OK)
        return status;
    struct login_state l = {0};
    status = SESSION_ERR_FORMAT;
    if (copy_string(obj, "s", l.state, sizeof l.state - 1) != 0 ||
        copy_string(obj, "v", l.verifier, sizeof l.verifier - 1) != 0 ||
        copy_time(obj, "x", &l.expires) != 0)
        goto done;
    status = SESSION_ERR_EXPIRED;
    if (l.expires <= now)
        goto done;
    *out = l;
    status = SESSION_OK;
done:
    OPENSSL_cleanse(&l, sizeof l);
    cJSON_Delete(obj);
    return status;
}

void session_cookie_name(const char *purpose, bool secure, char out[SESSION_COOKIE_NAME_SIZE])
{
    snprintf(out, SESSION_COOKIE_NAME_SIZE, "%s%s", secure ? SESSION_HOST_PREFIX : "", purpose);
}

int session_cookie_header(char *out, size_t cap, const char *name, const char *value, long max_age,
                          bool secure)
{
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (!secure && strncmp(name, SESSION_HOST_PREFIX, strlen(SESSION_HOST_PREFIX)) == 0)
        return -1;
    int n =
        snprintf(out, cap, "Set-Cookie: %s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s\r\n",
                 name, value, max_age, secure ? "; Secure" : "");
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return -1;
    }
    return n;
}

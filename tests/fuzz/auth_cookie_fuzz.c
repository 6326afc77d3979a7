/* Fuzz target: auth-service's cookie decoder, which meets every browser's bytes. The first
 * byte picks a path: open the bytes as a cookie (session and sign-in), or seal them as a
 * plaintext and open that, so the parser behind the authentication check is reached too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct session_keyring keys;
    static int ready;
    if (!ready) {
        char err[128];
        session_keyring_parse(&keys,
                              "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,"
                              "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
                              err, sizeof err);
        ready = 1;
    }
    if (size == 0)
        return 0;
    const uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct session s;
    struct login_state l;
    if (mode & 1) {
        session_decode(&keys, text, len, 1800000000, &s);
        login_decode(&keys, text, len, 1800000000, &l);
        return 0;
    }
    char *cookie = NULL;
    const char *purpose = (mode & 2) ? SESSION_COOKIE : LOGIN_COOKIE;
    if (session_seal(&keys, purpose, (const uint8_t *)text, len, &cookie) != SESSION_OK)
        return 0;
    if (mode & 2)
        session_decode(&keys, cookie, strlen(cookie), 1800000000, &s);
    else
        login_decode(&keys, cookie, strlen(cookie), 1800000000, &l);
    free(cookie);
    return 0;
}

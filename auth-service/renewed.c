/* Tokens refreshed mid-stream (renewed.h): a small table scanned whole (1,024 entries, used
 * only when a token ended during a streamed page), every token wiped when it goes. */
#include "renewed.h"

#include <openssl/crypto.h>
#include <string.h>

int renewed_init(struct renewed *set)
{
    memset(set->entries, 0, sizeof set->entries);
    return pthread_mutex_init(&set->lock, NULL) == 0 ? 0 : -1;
}

void renewed_destroy(struct renewed *set)
{
    OPENSSL_cleanse(set->entries, sizeof set->entries);
    pthread_mutex_destroy(&set->lock);
}

static void forget(struct renewed_entry *e)
{
    OPENSSL_cleanse(e, sizeof *e);
}

void renewed_put(struct renewed *set, const char *sid, const struct spotify_tokens *t,
                 int64_t until, int64_t now)
{
    if (strlen(sid) != SESSION_SID_LEN || until <= now)
        return;
    pthread_mutex_lock(&set->lock);
    struct renewed_entry *slot = NULL, *soonest = &set->entries[0];
    for (size_t i = 0; i < RENEWED_CAPACITY; i++) {
        struct renewed_entry *e = &set->entries[i];
        if (e->sid[0] && e->until <= now)
            forget(e);
        if (e->sid[0] && strcmp(e->sid, sid) == 0) {
            slot = e;
            break;
        }
        if (!e->sid[0] && !slot)
            slot = e;
        if (e->sid[0] && e->until < soonest->until)
            soonest = e;
    }
    if (!slot)
        slot = soonest;
    forget(slot);
    memcpy(slot->sid, sid, SESSION_SID_LEN + 1);
    slot->tokens = *t;
    slot->until = until;
    pthread_mutex_unlock(&set->lock);
}

bool renewed_take(struct renewed *set, const char *sid, const char *cookie_refresh, int64_t now,
                  struct spotify_tokens *out)
{
    bool found = false;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < RENEWED_CAPACITY; i++) {
        struct renewed_entry *e = &set->entries[i];
        if (!e->sid[0] || strcmp(e->sid, sid) != 0)
            continue;
        if (e->until > now && strcmp(e->tokens.refresh_token, cookie_refresh) != 0) {
            *out = e->tokens;
            found = true;
        }
        forget(e);
        break;
    }
    pthread_mutex_unlock(&set->lock);
    return found;
}

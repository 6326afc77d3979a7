/* The set of signed-out session ids (revoked.h): open addressing with linear probing over a
 * power-of-two table, tombstone-free (an entry that goes is re-inserted with its cluster's
 * followers), so lookups stay short; a full table makes room by expiry. */
#include "revoked.h"

#include <stdlib.h>
#include <string.h>

static uint64_t sid_hash(const char *sid)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

int revoked_init(struct revoked *set, size_t capacity)
{
    memset(set, 0, sizeof *set);
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        return -1;
    set->entries = calloc(capacity, sizeof *set->entries);
    if (!set->entries)
        return -1;
    if (pthread_mutex_init(&set->lock, NULL) != 0) {
        free(set->entries);
        set->entries = NULL;
        return -1;
    }
    set->capacity = capacity;
    return 0;
}

void revoked_destroy(struct revoked *set)
{
    if (!set->entries)
        return;
    pthread_mutex_destroy(&set->lock);
    free(set->entries);
    memset(set, 0, sizeof *set);
}

/* Removes slot i and moves the entries after it in its probe cluster back where they belong. */
static void remove_slot(struct revoked *set, size_t i)
{
    size_t mask = set->capacity - 1;
    set->entries[i].sid[0] = '\0';
    set->used--;
    for (size_t j = (i + 1) & mask; set->entries[j].sid[0]; j = (j + 1) & mask) {
        struct revoked_entry moved = set->entries[j];
        set->entries[j].sid[0] = '\0';
        size_t k = (size_t)sid_hash(moved.sid) & mask;
        while (set->entries[k].sid[0])
            k = (k + 1) & mask;
        set->entries[k] = moved;
    }
}

/* Keeps the table at most 3/4 full: drops ended sessions, then those ending soonest. */
static void make_room(struct revoked *set, int64_t now)
{
    if (set->used < set->capacity / 4 * 3)
        return;
    for (size_t i = 0; i < set->capacity; i++)
        while (set->entries[i].sid[0] && set->entries[i].until <= now)
            remove_slot(set, i);
    while (set->used >= set->capacity / 4 * 3) {
        size_t soonest = 0;
        int64_t best = INT64_MAX;
        for (size_t i = 0; i < set->capacity; i++) {
            if (set->entries[i].sid[0] && set->entries[i].until < best) {
                best = set->entries[i].until;
                soonest = i;
            }
        }
        remove_slot(set, soonest);
    }
}

void revoked_add(struct revoked *set, const char *sid, int64_t until, int64_t now)
{
    if (strlen(sid) != SESSION_SID_LEN || until <= now)
        return;
    pthread_mutex_lock(&set->lock);
    make_room(set, now);
    size_t mask = set->capacity - 1;
    size_t i = (size_t)sid_hash(sid) & mask;
    while (set->entries[i].sid[0] && strcmp(set->entries[i].sid, sid) != 0)
        i = (i + 1) & mask;
    if (!set->entries[i].sid[0])
        set->used++;
    memcpy(set->entries[i].sid, sid, SESSION_SID_LEN + 1);
    set->entries[i].until = until;
    pthread_mutex_unlock(&set->lock);
}

bool revoked_contains(struct revoked *set, const char *sid, int64_t now)
{
    if (strlen(sid) != SESSION_SID_LEN)
        return false;
    bool found = false;
    pthread_mutex_lock(&set->lock);
    size_t mask = set->capacity - 1;
    for (size_t i = (size_t)sid_hash(sid) & mask; set->entries[i].sid[0]; i = (i + 1) & mask) {
        if (strcmp(set->entries[i].sid, sid) == 0) {
            found = set->entries[i].until > now;
            break;
        }
    }
    pthread_mutex_unlock(&set->lock);
    return found;
}

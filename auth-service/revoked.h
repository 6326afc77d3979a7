/* The sessions signed out on this front: a bounded set of session ids (the random id sealed in
 * every session cookie), each kept until its session would have ended anyway, so a cookie
 * copied before POST /logout is refused afterwards. Thread-safe (one mutex). */
#ifndef MIXTAPE_AUTH_REVOKED_H
#define MIXTAPE_AUTH_REVOKED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Ids remembered at most; when full, expired ids go first, then the ones ending soonest. */
#define REVOKED_CAPACITY 65536u

struct revoked_entry {
    char sid[SESSION_SID_LEN + 1]; /* "" = free slot */
    int64_t until;                 /* unix seconds: the session's own end */
};

struct revoked {
    pthread_mutex_t lock;
    struct revoked_entry *entries; /* capacity slots, open addressing */
    size_t capacity;               /* power of two */
    size_t used;
};

/* capacity: a power of two >= 2. Returns 0, or -1 out of memory. */
int revoked_init(struct revoked *set, size_t capacity);
void revoked_destroy(struct revoked *set);

/* Remembers sid (SESSION_SID_LEN characters) as signed out until `until`. now: unix seconds,
 * to drop ids whose sessions ended. Never fails: when full, the entry ending soonest goes. */
void revoked_add(struct revoked *set, const char *sid, int64_t until, int64_t now);

/* True when sid was signed out and its session has not ended by now. */
bool revoked_contains(struct revoked *set, const char *sid, int64_t now);

#endif

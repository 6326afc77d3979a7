/* The per-session mix memory (mix_cache.h): a small array of entries behind one mutex, found by
 * a linear scan (a few dozen sessions at most), deep copies in and out so no entry is shared
 * with a request, least recently used evicted first. */
#include "mix_cache.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    bool used;
    uint8_t key[32];
    time_t read_at;   /* when the library was read; 0: no library */
    time_t last_used; /* for eviction */
    struct saved_library lib;
    char playlist[64];
    char (*shown)[23]; /* the songs last shown, for Regenerate to show others */
    size_t n_shown;
};

struct mix_cache {
    pthread_mutex_t lock;
    struct entry *entries;
    size_t max_entries, max_tracks, tracks;
    int ttl;
};

struct mix_cache *mix_cache_new(size_t max_entries, size_t max_tracks, int ttl_seconds)
{
    struct mix_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->entries = calloc(max_entries ? max_entries : 1, sizeof *c->entries);
    if (!c->entries) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->max_entries = max_entries ? max_entries : 1;
    c->max_tracks = max_tracks;
    c->ttl = ttl_seconds;
    return c;
}

static void drop_library(struct mix_cache *c, struct entry *e)
{
    c->tracks -= e->lib.count;
    spotify_library_free(&e->lib);
    e->read_at = 0;
}

static void drop_entry(struct mix_cache *c, struct entry *e)
{
    drop_library(c, e);
    free(e->shown);
    OPENSSL_cleanse(e, sizeof *e);
}

void mix_cache_free(struct mix_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->max_entries; i++)
        if (c->entries[i].used)
            drop_entry(c, &c->entries[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

void mix_cache_key(const struct session *s, const char *browser_id, uint8_t key[32])
{
    char material[sizeof s->user_id + 96];
    int n = snprintf(material, sizeof material, "%s|%lld|%.60s", s->user_id, (long long)s->expires,
                     browser_id);
    SHA256((const unsigned char *)material, (size_t)n, key);
    OPENSSL_cleanse(material, sizeof material);
}

static bool copy_track(struct saved_track *dst, const struct saved_track *src)
{
    *dst = *src;
    dst->name = strdup(src->name);
    bool ok = dst->name != NULL;
    for (uint32_t a = 0; a < src->n_artists; a++) {
        dst->artists[a] = strdup(src->artists[a]);
        ok = ok && dst->artists[a];
    }
    return ok;
}

static bool copy_library(struct saved_library *dst, const struct saved_library *src)
{
    *dst = *src;
    dst->count = 0;
    dst->tracks = calloc(src->count ? src->count : 1, sizeof *dst->tracks);
    if (!dst->tracks)
        return false;
    for (size_t i = 0; i < src->count; i++) {
        dst->count++;
        if (!copy_track(&dst->tracks[i], &src->tracks[i])) {
            spotify_library_free(dst);
            return false;
        }
    }
    return true;
}

/* Drops libraries past their time to live; an entry with neither is freed. */
static void expire(struct mix_cache *c, time_t now)
{
    for (size_t i = 0; i < c->max_entries; i++) {
        struct entry *e = &c->entries[i];
        if (!e->used)
            continue;
        if (e->read_at && now - e->read_at >= c->ttl)
            drop_library(c, e);
        /* the saved playlist id outlives the library by the same span again */
        if (!e->read_at && now - e->last_used >= 2 * (time_t)c->ttl)
            drop_entry(c, e);
    }
}

static struct entry *find(struct mix_cache *c, const uint8_t key[32])
{
    for (size_t i = 0; i < c->max_entries; i++)
        if (c->entries[i].used && CRYPTO_memcmp(c->entries[i].key, key, 32) == 0)
            return &c->entries[i];
    return NULL;
}

static struct entry *least_recent(struct mix_cache *c, const struct entry *spare)
{
    struct entry *lru = NULL;
    for (size_t i = 0; i < c->max_entries; i++) {
        struct entry *e = &c->entries[i];
        if (e != spare && e->used && (!lru || e->last_used < lru->last_used))
            lru = e;
    }
    return lru;
}

/* The session's entry, made (evicting the least recently used) when missing. */
static struct entry *find_or_make(struct mix_cache *c, const uint8_t key[32], time_t now)
{
    struct entry *e = find(c, key);
    if (!e) {
        for (size_t i = 0; i < c->max_entries && !e; i++)
            if (!c->entries[i].used)
                e = &c->entries[i];
        if (!e) {
            e = least_recent(c, NULL);
            drop_entry(c, e);
        }
        e->used = true;
        memcpy(e->key, key, 32);
    }
    e->last_used = now;
    return e;
}

bool mix_cache_get_library(struct mix_cache *c, const uint8_t key[32], time_t now,
                           struct saved_library *out)
{
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find(c, key);
    if (e && e->read_at) {
        e->last_used = now;
        hit = copy_library(out, &e->lib);
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void mix_cache_put_library(struct mix_cache *c, const uint8_t key[32], time_t now,
                           const struct saved_library *lib)
{
    if (lib->count > c->max_tracks)
        return;
    struct saved_library copy;
    if (!copy_library(&copy, lib))
        return;
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find_or_make(c, key, now);
    drop_library(c, e);
    while (c->tracks + copy.count > c->max_tracks) {
        struct entry *lru = least_recent(c, e);
        if (!lru)
            break;
        drop_entry(c, lru);
    }
    e->lib = copy;
    e->read_at = now;
    c->tracks += copy.count;
    pthread_mutex_unlock(&c->lock);
}

bool mix_cache_get_playlist(struct mix_cache *c, const uint8_t key[32], time_t now, char out[64])
{
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find(c, key);
    bool hit = e && e->playlist[0];
    if (hit)
        snprintf(out, 64, "%s", e->playlist);
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void mix_cache_put_playlist(struct mix_cache *c, const uint8_t key[32], time_t now,
                            const char *playlist_id)
{
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find_or_make(c, key, now);
    snprintf(e->playlist, sizeof e->playlist, "%s", playlist_id);
    pthread_mutex_unlock(&c->lock);
}

bool mix_cache_get_shown(struct mix_cache *c, const uint8_t key[32], time_t now, char (**ids)[23],
                         size_t *n)
{
    *ids = NULL;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find(c, key);
    if (e && e->n_shown) {
        *ids = malloc(e->n_shown * sizeof **ids);
        if (*ids) {
            memcpy(*ids, e->shown, e->n_shown * sizeof **ids);
            *n = e->n_shown;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return *n > 0;
}

void mix_cache_put_shown(struct mix_cache *c, const uint8_t key[32], time_t now,
                         const char *const *ids, size_t n)
{
    char(*copy)[23] = n ? calloc(n, sizeof *copy) : NULL;
    if (n && !copy)
        return;
    for (size_t i = 0; i < n; i++)
        snprintf(copy[i], sizeof copy[i], "%s", ids[i]);
    pthread_mutex_lock(&c->lock);
    expire(c, now);
    struct entry *e = find_or_make(c, key, now);
    free(e->shown);
    e->shown = copy;
    e->n_shown = n;
    pthread_mutex_unlock(&c->lock);
}

size_t mix_cache_entries(struct mix_cache *c)
{
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->max_entries; i++)
        n += c->entries[i].used;
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t mix_cache_tracks(struct mix_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->tracks;
    pthread_mutex_unlock(&c->lock);
    return n;
}

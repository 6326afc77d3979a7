/* Real-playlist users: reads the playlists of a playlist CSV and makes single and mixed
 * libraries from them (see playlists.h). */
#include "playlists.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_FIELDS 64u
#define MAX_KEY    64u

const struct user_type PLAYLIST_TYPES[] = {
    {"playlist (100)", 1, {1.0}},
    {"2 playlists (70/30)", 2, {0.70, 0.30}},
    {"3 playlists (50/30/20)", 3, {0.50, 0.30, 0.20}},
};
const uint32_t PLAYLIST_N_TYPES = sizeof PLAYLIST_TYPES / sizeof PLAYLIST_TYPES[0];

struct entry {
    char playlist[MAX_KEY];
    uint32_t id; /* label id index */
    uint32_t genre;
};

static int by_playlist_then_id(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->playlist, y->playlist);
    if (c)
        return c;
    return (x->id > y->id) - (x->id < y->id);
}

static int find_label_id(const struct labels *labels, const char *id, uint32_t *out)
{
    uint32_t lo = 0, hi = labels->n_ids;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(labels->ids[mid], id);
        if (c == 0) {
            *out = mid;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int find_genre(const struct labels *labels, const char *name, uint32_t *out)
{
    for (uint32_t g = 0; g < labels->n_genres; g++)
        if (strcmp(labels->genre_names[g], name) == 0) {
            *out = g;
            return 0;
        }
    return -1;
}

int playlists_read(const char *path, const struct labels *labels, struct playlists *out, char *err,
                   size_t err_len)
{
    int result = -1;
    struct entry *entries = NULL;
    size_t n = 0, cap = 0;
    char *line = malloc(LABELS_MAX_LINE);
    gzFile file = gzopen(path, "rb");
    memset(out, 0, sizeof *out);
    if (!line || !file) {
        snprintf(err, err_len, "%s: cannot open", path);
        goto done;
    }
    char *fields[MAX_FIELDS];
    int col_playlist = -1, col_track = -1, col_genre = -1;
    if (!gzgets(file, line, LABELS_MAX_LINE)) {
        snprintf(err, err_len, "%s: empty", path);
        goto done;
    }
    size_t nf = labels_split_csv(line, fields, MAX_FIELDS);
    for (size_t i = 0; i < nf && i < MAX_FIELDS; i++) {
        if (!strcmp(fields[i], "playlist_id"))
            col_playlist = (int)i;
        else if (!strcmp(fields[i], "track_id"))
            col_track = (int)i;
        else if (!strcmp(fields[i], "playlist_genre"))
            col_genre = (int)i;
    }
    if (col_playlist < 0 || col_track < 0 || col_genre < 0) {
        snprintf(err, err_len, "%s: needs playlist_id, track_id and playlist_genre columns", path);
        goto done;
    }
    while (gzgets(file, line, LABELS_MAX_LINE)) {
        nf = labels_split_csv(line, fields, MAX_FIELDS);
        if (nf <= (size_t)col_playlist || nf <= (size_t)col_track || nf <= (size_t)col_genre)
            continue;
        struct entry e;
        if (strlen(fields[col_playlist]) >= MAX_KEY ||
            find_label_id(labels, fields[col_track], &e.id) != 0 ||
            find_genre(labels, fields[col_genre], &e.genre) != 0)
            continue;
        strcpy(e.playlist, fields[col_playlist]);
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            struct entry *grown = realloc(entries, cap * sizeof *grown);
            if (!grown) {
                snprintf(err, err_len, "out of memory");
                goto done;
            }
            entries = grown;
        }
        entries[n++] = e;
    }
    qsort(entries, n, sizeof *entries, by_playlist_then_id);
    out->lists = calloc(PLAYLISTS_MAX, sizeof *out->lists);
    if (!out->lists) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(entries[j].playlist, entries[i].playlist))
            j++;
        uint32_t distinct = 0;
        for (size_t t = i; t < j; t++)
            distinct += t == i || entries[t].id != entries[t - 1].id;
        if (distinct >= PLAYLISTS_MIN_TRACKS && out->n < PLAYLISTS_MAX) {
            struct playlist *p = &out->lists[out->n];
            p->genre = entries[i].genre;
            p->tracks = malloc(distinct * sizeof *p->tracks);
            if (!p->tracks) {
                snprintf(err, err_len, "out of memory");
                goto done;
            }
            for (size_t t = i; t < j; t++)
                if (t == i || entries[t].id != entries[t - 1].id)
                    p->tracks[p->n_tracks++] = entries[t].id;
            out->n++;
        }
        i = j;
    }
    if (out->n == 0) {
        snprintf(err, err_len, "%s: no playlist of %u tracks in the model", path,
                 PLAYLISTS_MIN_TRACKS);
        goto done;
    }
    result = 0;
done:
    if (result != 0)
        playlists_free(out);
    free(entries);
    free(line);
    if (file)
        gzclose(file);
    return result;
}

void playlists_free(struct playlists *lists)
{
    for (uint32_t i = 0; lists->lists && i < lists->n; i++)
        free(lists->lists[i].tracks);
    free(lists->lists);
    memset(lists, 0, sizeof *lists);
}

static void shuffle(uint32_t *a, uint32_t n, struct rng *rng)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(rng, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

int playlists_make_user(const struct playlists *lists, const struct labels *labels, uint32_t type,
                        uint32_t index, uint64_t seed, struct sim_user *out)
{
    const struct user_type *kind = &PLAYLIST_TYPES[type];
    struct rng rng = {seed * 0x100000001b3ull ^ ((uint64_t)(type + 16) << 48) ^ index};
    rng_next(&rng);
    struct sim_user user = {.type = type, .n_genres = kind->n_genres};
    uint32_t chosen[USERS_MAX_GENRES];
    if (type == 0) {
        if (index >= lists->n)
            return -1;
        chosen[0] = index;
    } else {
        for (uint32_t i = 0; i < kind->n_genres; i++) {
            uint32_t tries = 0, pick;
            bool ok;
            do {
                pick = rng_below(&rng, lists->n);
                ok = true;
                for (uint32_t j = 0; j < i; j++)
                    ok &= lists->lists[chosen[j]].genre != lists->lists[pick].genre;
            } while (!ok && ++tries < 10000);
            if (!ok)
                return -1;
            chosen[i] = pick;
        }
    }
    /* The largest library the shares allow: part i takes share_i * size of playlist i. */
    uint32_t size = UINT32_MAX;
    for (uint32_t i = 0; i < kind->n_genres; i++) {
        user.genres[i] = lists->lists[chosen[i]].genre;
        user.target[i] = kind->shares[i];
        double fits = floor(lists->lists[chosen[i]].n_tracks / kind->shares[i]);
        if (fits < size)
            size = (uint32_t)fits;
    }
    uint32_t counts[USERS_MAX_GENRES];
    users_apportion(kind->shares, kind->n_genres, size, counts);
    uint32_t *saved = malloc((size + 1) * sizeof *saved);
    uint32_t *held = malloc((size + 1) * sizeof *held);
    uint32_t *pool = NULL;
    uint8_t *taken = calloc(labels->n_ids, 1);
    int result = -1;
    if (!saved || !held || !taken)
        goto done;
    for (uint32_t i = 0; i < kind->n_genres; i++) {
        const struct playlist *pl = &lists->lists[chosen[i]];
        free(pool);
        pool = malloc(pl->n_tracks * sizeof *pool);
        if (!pool)
            goto done;
        uint32_t n_pool = 0;
        for (uint32_t t = 0; t < pl->n_tracks; t++)
            if (!taken[pl->tracks[t]])
                pool[n_pool++] = pl->tracks[t];
        shuffle(pool, n_pool, &rng);
        uint32_t part = counts[i] < n_pool ? counts[i] : n_pool;
        uint32_t n_held = part * PLAYLISTS_HELD_PERCENT / 100;
        for (uint32_t t = 0; t < part; t++) {
            taken[pool[t]] = 1;
            if (t < n_held)
                held[user.n_held++] = pool[t];
            else
                saved[user.n_saved++] = pool[t];
        }
    }
    shuffle(saved, user.n_saved, &rng);
    user.n_library = user.n_saved + user.n_held;
    /* Shares as metrics.h measures them, over the whole library. */
    for (uint32_t t = 0; t < user.n_library; t++) {
        uint32_t id = t < user.n_saved ? saved[t] : held[t - user.n_saved];
        const struct genre_set *set = &labels->row_genres[labels->id_row[id]];
        uint32_t carried = 0;
        for (uint32_t i = 0; i < user.n_genres; i++)
            carried += genre_set_has(set, user.genres[i]);
        for (uint32_t i = 0; i < user.n_genres; i++)
            if (carried && genre_set_has(set, user.genres[i]))
                user.shares[i] += 1.0 / carried / user.n_library;
    }
    user.saved = saved;
    user.held = held;
    saved = held = NULL;
    *out = user;
    result = 0;
done:
    free(saved);
    free(held);
    free(pool);
    free(taken);
    return result;
}

/* Deterministic users and libraries over the catalog: see library.h. */
#include "library.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define LIBRARY_EPOCH 1767225600LL /* 2026-01-01T00:00:00Z: the newest added_at */

struct user_spec {
    const char *id;
    const char *display_name;
    bool allow_listed;
    double size_factor;
    int n_genres;
    double shares[6];
};

static const struct user_spec USERS[] = {
    {"demo", "Demo Listener", true, 1.0, 3, {0.6, 0.3, 0.1}},
    {"river", "River Stone", true, 0.5, 2, {0.5, 0.5}},
    {"eclectic",
     "Eclectic Ed",
     true,
     1.0,
     6,
     {1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 1 / 6.0}},
    {"newcomer", "New Listener", true, 0.0, 0, {0}},
    {"outsider", "Not Allow-listed", false, 0.25, 1, {1.0}},
};

static const char *keep(struct emu_library *library, const char *text)
{
    if (library->n_strings == library->cap_strings) {
        library->cap_strings = library->cap_strings ? library->cap_strings * 2 : 256;
        library->strings = xrealloc(library->strings, library->cap_strings * sizeof(char *));
    }
    char *copy = xstrdup(text);
    library->strings[library->n_strings++] = copy;
    return copy;
}

/* Catalog positions grouped by genre (or, without a genre column, by decade). */
struct genre_group {
    char *name;
    size_t *rows;
    size_t n_rows, cap_rows;
};

static const char *genre_of(const struct emu_track *track, char *scratch, size_t len)
{
    if (track->genre)
        return track->genre;
    snprintf(scratch, len, "%.3s0s", track->release_date);
    return scratch;
}

static size_t group_catalog(const struct emu_catalog *catalog, struct genre_group **out)
{
    struct genre_group *groups = NULL;
    size_t n = 0;
    for (size_t i = 0; i < catalog->n_tracks; i++) {
        char scratch[16];
        const char *name = genre_of(&catalog->tracks[i], scratch, sizeof scratch);
        size_t g = 0;
        while (g < n && strcmp(groups[g].name, name) != 0)
            g++;
        if (g == n) {
            groups = xrealloc(groups, (n + 1) * sizeof *groups);
            memset(&groups[n], 0, sizeof groups[n]);
            groups[n].name = xstrdup(name);
            n++;
        }
        struct genre_group *group = &groups[g];
        if (group->n_rows == group->cap_rows) {
            group->cap_rows = group->cap_rows ? group->cap_rows * 2 : 64;
            group->rows = xrealloc(group->rows, group->cap_rows * sizeof(size_t));
        }
        group->rows[group->n_rows++] = i;
    }
    /* Largest genres first, so a user's main genre has room for a big library. */
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && groups[b].n_rows > groups[b - 1].n_rows; b--) {
            struct genre_group swap = groups[b];
            groups[b] = groups[b - 1];
            groups[b - 1] = swap;
        }
    *out = groups;
    return n;
}

static void shuffle(size_t *rows, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = emu_random_next(rng) % i;
        size_t swap = rows[i - 1];
        rows[i - 1] = rows[j];
        rows[j] = swap;
    }
}

static void invent_track(struct emu_library *library, struct emu_saved *saved,
                         enum emu_saved_kind kind, size_t serial, uint64_t *rng)
{
    static const char *const WORDS[] = {"Paper",  "Harbour", "Neon",   "Velvet",
                                        "Static", "Orchard", "Glass",  "Winter",
                                        "Ember",  "Signal",  "Hollow", "Meridian"};
    char name[96], artist[96];
    const char *a = WORDS[emu_random_next(rng) % 12], *b = WORDS[emu_random_next(rng) % 12];
    snprintf(name, sizeof name, "%s %s %zu", a, b, serial);
    snprintf(artist, sizeof artist, "The %s %ss", b, a);
    struct emu_track *track = &saved->track;
    memset(track, 0, sizeof *track);
    track->name = keep(library, name);
    track->artists[0] = keep(library, artist);
    track->n_artists = 1;
    track->album = track->name;
    snprintf(track->release_date, sizeof track->release_date, "%04d-%02d-%02d",
             1970 + (int)(emu_random_next(rng) % 56), 1 + (int)(emu_random_next(rng) % 12),
             1 + (int)(emu_random_next(rng) % 28));
    track->duration_ms = 120000 + (int)(emu_random_next(rng) % 240000);
    track->explicit_lyrics = emu_random_next(rng) % 10 == 0;
    saved->kind = kind;
    if (kind == EMU_SAVED_FRESH) {
        emu_id_from(name, 0xF2E5, track->id);
        snprintf(track->isrc, sizeof track->isrc, "QZFR%02d%06zu", (int)(serial % 100),
                 serial % 1000000);
    }
}

static void build_user(const struct emu_catalog *catalog, struct genre_group *groups,
                       size_t n_groups, const struct user_spec *spec, size_t size, uint64_t *rng,
                       struct emu_library *library, struct emu_user *user)
{
    user->id = spec->id;
    user->display_name = spec->display_name;
    user->allow_listed = spec->allow_listed;
    user->saved = size ? xcalloc(size, sizeof *user->saved) : NULL;
    /* Which genres: a seeded choice among the larger ones that can supply the user's share
     * (the largest remaining one when none can). */
    size_t chosen[6] = {0};
    int n_chosen = spec->n_genres < (int)n_groups ? spec->n_genres : (int)n_groups;
    size_t pool = n_groups < 12 ? n_groups : 12;
    for (int g = 0; g < n_chosen; g++) {
        size_t need = (size_t)((double)size * spec->shares[g]);
        size_t candidates[12], n_candidates = 0, fallback = SIZE_MAX;
        for (size_t c = 0; c < n_groups; c++) {
            bool taken = false;
            for (int k = 0; k < g; k++)
                taken = taken || chosen[k] == c;
            if (taken)
                continue;
            if (fallback == SIZE_MAX)
                fallback = c; /* groups are sorted largest first */
            if (groups[c].n_rows >= need && n_candidates < pool)
                candidates[n_candidates++] = c;
        }
        chosen[g] = n_candidates ? candidates[emu_random_next(rng) % n_candidates] : fallback;
        shuffle(groups[chosen[g]].rows, groups[chosen[g]].n_rows, rng);
    }
    size_t used[6] = {0};
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        struct emu_saved *saved = &user->saved[n];
        unsigned roll = (unsigned)(emu_random_next(rng) % 100);
        if (roll < 2) {
            invent_track(library, saved, EMU_SAVED_LOCAL, i, rng);
        } else if (roll < 6 || n_chosen == 0 || !groups) { /* no genres: invent */
            invent_track(library, saved, EMU_SAVED_FRESH, i, rng);
        } else {
            /* A genre by its share, then the next unused song of that genre. */
            double x = (double)(emu_random_next(rng) % 1000000) / 1000000.0, acc = 0;
            int g = 0;
            for (; g < n_chosen - 1; g++) {
                acc += spec->shares[g];
                if (x < acc)
                    break;
            }
            /* A genre that ran out hands over to the next one with songs left. */
            for (int k = 0; k < n_chosen && used[g] >= groups[chosen[g]].n_rows; k++)
                g = (g + 1) % n_chosen;
            const struct genre_group *group = &groups[chosen[g]];
            if (used[g] >= group->n_rows) {
                invent_track(library, saved, EMU_SAVED_FRESH, i, rng);
            } else {
                const struct emu_track *song = &catalog->tracks[group->rows[used[g]++]];
                saved->track = *song;
                saved->kind = EMU_SAVED_CATALOG;
                if (roll < 10) {
                    /* Another release of the same song: new id, same title, artists, ISRC. */
                    saved->kind = EMU_SAVED_DUPLICATE;
                    emu_id_from(song->id, 0xD0B1E, saved->track.id);
                    char album[300];
                    snprintf(album, sizeof album, "%s (Deluxe Edition)", song->album);
                    saved->track.album = keep(library, album);
                    saved->track.duration_ms += (int)(emu_random_next(rng) % 2001) - 1000;
                }
            }
        }
        saved->added_at = LIBRARY_EPOCH - (long long)i * 25200 - (long long)(i % 7) * 60;
        n++;
    }
    user->n_saved = n;
}

void emu_library_build(const struct emu_catalog *catalog, size_t library_size, uint64_t seed,
                       struct emu_library *library)
{
    memset(library, 0, sizeof *library);
    struct genre_group *groups = NULL;
    size_t n_groups = group_catalog(catalog, &groups);
    size_t n_users = sizeof USERS / sizeof USERS[0];
    library->users = xcalloc(n_users, sizeof *library->users);
    library->n_users = n_users;
    for (size_t u = 0; u < n_users; u++) {
        uint64_t rng = seed * 1000003u + u;
        size_t size = (size_t)((double)library_size * USERS[u].size_factor);
        build_user(catalog, groups, n_groups, &USERS[u], size, &rng, library, &library->users[u]);
    }
    for (size_t g = 0; g < n_groups; g++) {
        free(groups[g].name);
        free(groups[g].rows);
    }
    free(groups);
}

void emu_library_free(struct emu_library *library)
{
    for (size_t u = 0; u < library->n_users; u++)
        free(library->users[u].saved);
    free(library->users);
    for (size_t i = 0; i < library->n_strings; i++)
        free(library->strings[i]);
    free(library->strings);
    memset(library, 0, sizeof *library);
}

const struct emu_user *emu_library_user(const struct emu_library *library, const char *id)
{
    for (size_t u = 0; u < library->n_users; u++)
        if (strcmp(library->users[u].id, id) == 0)
            return &library->users[u];
    return NULL;
}

bool emu_library_knows(const struct emu_library *library, const char *id)
{
    for (size_t u = 0; u < library->n_users; u++)
        for (size_t i = 0; i < library->users[u].n_saved; i++)
            if (strcmp(library->users[u].saved[i].track.id, id) == 0)
                return true;
    return false;
}

/* Real-playlist users for the quality evaluation (issue 17): each human-made playlist of a
 * playlist CSV (TidyTuesday's playlist_id / track_id / playlist_genre) with enough tracks is a
 * library, and 2 or 3 playlists of different genres combined in uneven shares make mixed ones;
 * 30% of each part is held back. Users come out as struct sim_user, scored like simulated ones. */
#ifndef MIXTAPE_QUALITY_PLAYLISTS_H
#define MIXTAPE_QUALITY_PLAYLISTS_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"
#include "users.h"

#define PLAYLISTS_MIN_TRACKS   30u /* a playlist with fewer resolved tracks is not a library */
#define PLAYLISTS_HELD_PERCENT 30u
#define PLAYLISTS_MAX          4096u

/* The kinds of playlist user: one playlist, 2 of different genres 70/30, 3 at 50/30/20. */
extern const struct user_type PLAYLIST_TYPES[];
extern const uint32_t PLAYLIST_N_TYPES;

struct playlist {
    uint32_t genre;    /* genre index of labels (its playlist_genre) */
    uint32_t n_tracks; /* distinct label id indices */
    uint32_t *tracks;
};

/* The playlists of a file with at least PLAYLISTS_MIN_TRACKS tracks the labels resolve. */
struct playlists {
    uint32_t n;
    struct playlist *lists;
};

/* Reads the playlist CSV (plain or gzip; columns playlist_id, track_id, playlist_genre). Returns
 * 0, or -1 with a one-line reason in err. Blocks on I/O. */
int playlists_read(const char *path, const struct labels *labels, struct playlists *out, char *err,
                   size_t err_len);
void playlists_free(struct playlists *lists);

/* User `index` of playlist type `type`: for type 0 playlist `index` (-1 past the last); for the
 * mixed types, random playlists of distinct genres (seeded by seed, type, index), each giving
 * its share of a library as large as the shares allow. Returns 0, or -1 (out untouched). */
int playlists_make_user(const struct playlists *lists, const struct labels *labels, uint32_t type,
                        uint32_t index, uint64_t seed, struct sim_user *out);

#endif

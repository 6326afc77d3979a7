/* The emulator's users and their Liked Songs, drawn deterministically (from a seed) from the
 * catalog: mostly catalog songs from a few genres in uneven shares, plus what real libraries
 * hold and catalogs lack: songs the catalog has never seen (fresh ids), other releases of
 * catalog songs (new id, same title, artists and ISRC) and local files (no id).
 * Threads: immutable after emu_library_build; any number of threads may read it at once. */
#ifndef EMU_LIBRARY_H
#define EMU_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

enum emu_saved_kind {
    EMU_SAVED_CATALOG,   /* a catalog track, same id */
    EMU_SAVED_DUPLICATE, /* another release of a catalog song: new id, same title/artists/ISRC */
    EMU_SAVED_FRESH,     /* a song the catalog lacks */
    EMU_SAVED_LOCAL,     /* a local file: no id */
};

struct emu_saved {
    struct emu_track track;
    enum emu_saved_kind kind;
    long long added_at; /* unix seconds; the library is ordered newest first */
};

struct emu_user {
    const char *id;
    const char *display_name;
    bool allow_listed; /* false: every Web API call answers 403 as for a user not on the list */
    struct emu_saved *saved;
    size_t n_saved;
};

struct emu_library {
    struct emu_user *users; /* users[0] is "demo" */
    size_t n_users;
    char **strings; /* names invented for fresh and local tracks */
    size_t n_strings, cap_strings;
};

/* Builds the users over catalog: "demo" (library_size tracks over 3 genres, 60/30/10),
 * "river" (half as many over 2 genres), "eclectic" (library_size over up to 6 genres),
 * "newcomer" (empty library) and "outsider" (not allow-listed). The same catalog, size and
 * seed always give the same libraries. *library is caller-owned; free with emu_library_free.
 * The catalog must outlive the library. */
void emu_library_build(const struct emu_catalog *catalog, size_t library_size, uint64_t seed,
                       struct emu_library *library);

/* Frees what the library owns. Safe on a zeroed struct. */
void emu_library_free(struct emu_library *library);

/* The user with this id, or NULL. */
const struct emu_user *emu_library_user(const struct emu_library *library, const char *id);

/* True if any user's library holds a track with this id (duplicates and fresh tracks are not in
 * the catalog but do exist on "Spotify"). */
bool emu_library_knows(const struct emu_library *library, const char *id);

#endif

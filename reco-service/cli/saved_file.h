/* Reading a user's saved tracks from a file, for reco-cli: a text file of Spotify track ids,
 * `spotify:track:` URIs or open.spotify.com track URLs (one per line); a CSV with a header
 * (columns id / track_id / uri and/or name / track_name with artists / artist / track_artist);
 * or the YourLibrary.json of a Spotify account-data export ({"tracks":[{"artist", "album",
 * "track", "uri"}]}). No I/O beyond reading the file; no global state. */
#ifndef MIXTAPE_SAVED_FILE_H
#define MIXTAPE_SAVED_FILE_H

#include <stddef.h>
#include <stdint.h>

#define SAVED_FILE_MAX_BYTES   (64u * 1024u * 1024u)
#define SAVED_FILE_MAX_ARTISTS 16u

/* One saved track; strings are malloc'd (NULL when unknown). */
struct saved_entry {
    char *id; /* 22-char base62 Spotify id */
    char *name;
    char *artists[SAVED_FILE_MAX_ARTISTS];
    uint32_t n_artists;
};

struct saved_list {
    struct saved_entry *items;
    size_t n, cap;
};

/* Parses the file's contents (len bytes; the format is detected). Returns 0 and appends to
 * *out, or -1 with a one-line reason naming the line or field in err. Tracks with neither an
 * id nor a name are an error in a text file and skipped in CSV and JSON (local files). */
int saved_file_parse(const char *text, size_t len, struct saved_list *out, char *err,
                     size_t err_len);

/* Reads and parses a file (at most SAVED_FILE_MAX_BYTES). Same contract; err names the file. */
int saved_file_read(const char *path, struct saved_list *out, char *err, size_t err_len);

/* Extracts the track id from an id, URI or URL into id (23 bytes). Returns 0, or -1. */
int saved_file_track_id(const char *text, size_t len, char id[23]);

void saved_list_free(struct saved_list *list);

#endif

/* Fuzz target: the parsers of what the configured Spotify hosts send: saved-tracks pages
 * (GET /v1/me/tracks), /v1/me, error bodies, the bounded JSON parser under them all, the 403
 * classifier and the Retry-After parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_limit.h"
#include "spotify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct saved_track tracks[SPOTIFY_PAGE_LIMIT];
    size_t n = 0, total = 0;
    if (spotify_parse_saved_page((const char *)data, size, "https://api.spotify.com", tracks,
                                 SPOTIFY_PAGE_LIMIT, &n, &total) == SPOTIFY_OK) {
        struct saved_library lib = {.tracks = malloc(n ? n * sizeof *tracks : 1), .count = n};
        if (lib.tracks)
            memcpy(lib.tracks, tracks, n * sizeof *tracks);
        spotify_library_free(&lib);
    }
    struct spotify_user user;
    spotify_parse_me((const char *)data, size, &user);
    char detail[160];
    spotify_error_detail((const char *)data, size, detail, sizeof detail);
    cJSON_Delete(json_parse_limited((const char *)data, size, JSON_MAX_DEPTH, NULL));
    spotify_classify_403((const char *)data, size);
    char header[64];
    size_t h = size < sizeof header - 1 ? size : sizeof header - 1;
    memcpy(header, data, h);
    header[h] = '\0';
    spotify_retry_after_ms(header, 1800000000);
    return 0;
}

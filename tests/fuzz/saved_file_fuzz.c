/* Fuzz target: reco-cli's saved-tracks file reader (plain ids / URIs / URLs, CSV exports and
 * the YourLibrary.json of a Spotify data export, detected from the bytes), and the track id
 * extractor. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "saved_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct saved_list list = {0};
    char err[256];
    saved_file_parse((const char *)data, size, &list, err, sizeof err);
    saved_list_free(&list);
    char id[23];
    saved_file_track_id((const char *)data, size < 256 ? size : 256, id);
    return 0;
}

/* Fuzz target for the catalog reader: arbitrary bytes go through the CSV reader with small
 * limits and through catalog loading (schema detection, row parsing, artist genre lists,
 * duplicate collapse) and the merge of a catalog with a copy of itself (which must bring no new
 * song). Nothing may crash, leak or touch memory out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "csv.h"
#include "merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_limits limits = {256, 64, 8};
    struct csv_reader *reader = NULL;
    if (csv_open_memory(data, size, &limits, &reader) == CSV_OK) {
        struct csv_record record;
        char err[128];
        for (int i = 0; i < 100000; i++) {
            enum csv_status status = csv_next(reader, &record, err, sizeof err);
            if (status == CSV_END || status == CSV_ERR_IO || status == CSV_ERR_NOMEM)
                break;
        }
        csv_close(reader);
    }
    struct catalog *catalog = NULL;
    char err[256];
    if (catalog_load_memory(data, size, "fuzz.csv", &catalog, err, sizeof err) == CATALOG_OK) {
        catalog_collapse(catalog, CATALOG_DEFAULT_TOLERANCE_MS);
        for (uint32_t i = 0; i < catalog->n_tracks; i++)
            for (const char *g = catalog->tracks[i].artist_genres; *g; g += strlen(g) + 1)
                (void)strlen(g);
        catalog_free(catalog);
        /* The same file twice, merged: every track joins its own earlier copy by id. */
        struct catalog *twice[2] = {NULL, NULL};
        static const char *const PATHS[] = {"a.csv", "b.csv"};
        struct merged merged;
        if (catalog_load_memory(data, size, "a.csv", &twice[0], err, sizeof err) == CATALOG_OK &&
            catalog_load_memory(data, size, "b.csv", &twice[1], err, sizeof err) == CATALOG_OK) {
            if (merge_catalogs(twice, PATHS, 2, CATALOG_DEFAULT_TOLERANCE_MS, &merged, err,
                               sizeof err) == MERGE_OK) {
                if (merged.sources[1].n_songs != 0)
                    abort(); /* a copy of the first file brings nothing new */
                merge_free(&merged);
            }
        } else {
            catalog_free(twice[0]);
            catalog_free(twice[1]);
        }
    }
    return 0;
}

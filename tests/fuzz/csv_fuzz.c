/* Fuzz target for the catalog reader: arbitrary bytes go through the CSV reader with small
 * limits and through catalog loading (schema detection, row parsing, duplicate collapse).
 * Nothing may crash, leak or touch memory out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "csv.h"

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
        catalog_free(catalog);
    }
    return 0;
}

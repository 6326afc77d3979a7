/* Fuzz target for model_open: the bytes are written to a temporary file and opened. Half the
 * inputs are re-sealed first (file length and checksum in the header set to match), so the
 * mutations reach the structural checks behind the checksum. A model that opens is read
 * through every accessor and lookup, which must stay inside the mapping. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "model_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct model *m)
{
    float scaled[MODEL_MAX_DIMS];
    for (uint32_t r = 0; r < m->n_rows; r++) {
        struct model_raw raw;
        model_row_raw(m, r, &raw);
        model_transform(m, &raw, scaled);
        model_nearest_centroid(m, scaled, NULL);
        const char *artists = model_row_artists(m, r);
        while (*artists)
            artists += strlen(artists) + 1;
        model_find_id(m, model_row_id(m, r));
        model_find_isrc(m, model_row_genre(m, r));
        model_find_song(m, model_row_name(m, r), model_row_artists(m, r),
                        model_row_duration_ms(m, r));
        (void)model_row_year(m, r);
        (void)model_row_popularity(m, r);
        (void)model_row_cluster(m, r);
        (void)model_row_artist_key(m, r);
    }
    const struct model_params *p = model_get_params(m);
    (void)strlen(p->schema);
    (void)strlen(p->k_choice);
    (void)strlen(m->source);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/model_file_fuzz_%d.model", (int)getpid());
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes)
        return 0;
    memcpy(bytes, data, size);
    if (size >= MODEL_HEADER_LEN && (size % 2 == 0)) {
        uint64_t len = size;
        uint64_t sum = model_checksum(bytes + MODEL_HEADER_LEN, size - MODEL_HEADER_LEN);
        memcpy(bytes + MODEL_HEADER_FILE_LEN_OFFSET, &len, sizeof len);
        memcpy(bytes + MODEL_HEADER_CHECKSUM_OFFSET, &sum, sizeof sum);
    }
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(bytes, 1, size, f);
        fclose(f);
        struct model *m = NULL;
        char err[256];
        if (model_open(path, &m, err, sizeof err) == MODEL_OK) {
            exercise(m);
            model_close(m);
        }
        remove(path);
    }
    free(bytes);
    return 0;
}

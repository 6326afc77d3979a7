/* Fuzz target for model_open: the bytes are written to a temporary file and opened. Half the
 * inputs are re-sealed first (file length and checksum in the header set to match), so the
 * mutations reach the structural checks behind the checksum. A model that opens is read
 * through every accessor, lookup and the artist index, which must stay inside the mapping, and
 * asked for a playlist from a few of its own tracks with every ranking, which must end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "model_build.h"
#include "recommend.h"

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
        (void)model_row_song_key(m, r);
        for (int f = 0; f <= FEAT_COUNT; f++) {
            (void)model_row_feature(m, r, (enum model_feature)f);
            (void)model_row_has_feature(m, r, (enum model_feature)f);
        }
        (void)model_row_explicit(m, r);
        (void)strlen(model_source(m, model_row_source(m, r))->name);
        model_find_artist(m, model_row_artists(m, r));
    }
    for (uint32_t a = 0; a < m->n_artists; a++) {
        for (uint32_t i = m->artist_start[a]; i < m->artist_start[a + 1]; i++)
            (void)model_row_artist_key(m, m->artist_rows[i]);
        for (const char *g = model_artist_genres(m, a); *g; g += strlen(g) + 1)
            model_find_artist(m, g);
    }
    for (uint32_t c = 0; c < m->k; c++) {
        (void)strlen(model_cluster_name(m, c));
        (void)model_cluster_size(m, c);
    }
    for (uint32_t i = 0; i < m->n_sources; i++) {
        (void)strlen(model_source(m, i)->name);
        (void)strlen(model_source(m, i)->schema);
    }
    /* Recommend from the first few tracks (the same song twice among them, when there are two
     * rows), with every ranking. */
    struct reco_saved saved[9];
    size_t n_saved = 0;
    for (uint32_t r = 0; r < m->n_rows && n_saved < 8; r++) {
        memset(&saved[n_saved], 0, sizeof saved[n_saved]);
        saved[n_saved++].id = model_row_id(m, r);
    }
    for (int ranking = 0; ranking <= (int)RECO_RANK_MEAN_AND_ARTISTS; ranking++) {
        struct reco_options options = {.n = 12, .ranking = (enum reco_ranking)ranking};
        struct reco_result result;
        char err[256];
        if (recommend(m, saved, n_saved, &options, &result, err, sizeof err) == RECO_OK)
            reco_result_free(&result);
    }
    const struct model_params *p = model_get_params(m);
    (void)strlen(p->schema);
    (void)strlen(p->k_choice);
    (void)strlen(p->genres);
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

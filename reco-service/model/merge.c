/* Several catalogs into one (merge.h): concatenate in file order with ids deduplicated across
 * files, collapse same songs with catalog_collapse over the whole, join songs that share an
 * ISRC across files, then fill each song's missing features from its other tracks. */
#include "merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "label_table.h"

const char *merge_strerror(enum merge_status status)
{
    switch (status) {
    case MERGE_OK:
        return "ok";
    case MERGE_ERR_CATALOG:
        return "cannot load a catalog";
    case MERGE_ERR_INVALID:
        return "invalid catalog list";
    case MERGE_ERR_LIMIT:
        return "too many tracks";
    case MERGE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown merge status";
}

/* A string -> track index table over the merged tracks (open addressing, index + 1). */
struct index {
    uint32_t *slots;
    uint64_t mask;
};

static bool index_new(struct index *x, uint64_t entries)
{
    uint64_t n = 16;
    while (n < entries * 2 + 1)
        n *= 2;
    x->slots = calloc(n, sizeof *x->slots);
    x->mask = n - 1;
    return x->slots != NULL;
}

/* The track under key, or UINT32_MAX; with insert, adds value when absent. */
static uint32_t index_get(struct index *x, const struct catalog_track *tracks, bool by_isrc,
                          const char *key, uint32_t insert)
{
    uint64_t s = label_table_hash(key) & x->mask;
    for (; x->slots[s]; s = (s + 1) & x->mask) {
        const struct catalog_track *t = &tracks[x->slots[s] - 1];
        if (strcmp(by_isrc ? t->isrc : t->id, key) == 0)
            return x->slots[s] - 1;
    }
    if (insert != UINT32_MAX)
        x->slots[s] = insert + 1;
    return UINT32_MAX;
}

/* Gives dst every feature, label and ISRC it lacks and src has. Returns the features given. */
static uint32_t fill(struct catalog_track *dst, const struct catalog_track *src)
{
    /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): dst is a copied track */
    uint32_t given = src->present & ~dst->present;
    for (int f = 0; f < FEAT_COUNT; f++)
        if (given & (1u << f))
            dst->value[f] = src->value[f];
    dst->present |= given;
    if (given & (1u << FEAT_YEAR))
        dst->year = src->year ? src->year : (uint16_t)dst->value[FEAT_YEAR];
    if (given & (1u << FEAT_POPULARITY))
        dst->popularity = src->popularity;
    if (given & (1u << FEAT_DURATION_MS))
        dst->duration_ms = src->duration_ms;
    if (!dst->genre[0] && src->genre[0])
        dst->genre = src->genre;
    if (!dst->artist_genres[0] && src->artist_genres[0])
        dst->artist_genres = src->artist_genres;
    if (!dst->isrc[0] && src->isrc[0])
        dst->isrc = src->isrc;
    return given;
}

static uint32_t popcount(uint32_t x)
{
    return (uint32_t)__builtin_popcount(x);
}

/* Every file's tracks in order into out->all; an id an earlier file had joins that track (its
 * missing features filled from this copy). */
static void join_by_id(struct merged *out, struct catalog **catalogs, const char *const *paths,
                       uint32_t n, struct index *ids)
{
    struct catalog *all = &out->all;
    for (uint32_t s = 0; s < n; s++) {
        const struct catalog *c = catalogs[s];
        struct merge_source *src = &out->sources[s];
        src->path = paths[s];
        src->schema = c->schema;
        src->available = c->available;
        src->n_records = c->n_records;
        src->n_malformed = c->n_malformed;
        src->n_repeated_ids = c->n_repeated_ids;
        all->available |= c->available;
        all->n_records += c->n_records;
        all->n_malformed += c->n_malformed;
        all->n_repeated_ids += c->n_repeated_ids;
        for (uint32_t i = 0; i < c->n_tracks; i++) {
            uint32_t to = all->n_tracks;
            uint32_t earlier = index_get(ids, all->tracks, false, c->tracks[i].id, to);
            if (earlier != UINT32_MAX) {
                src->n_merged++;
                src->n_merged_id++;
                src->n_filled += popcount(fill(&all->tracks[earlier], &c->tracks[i]));
                continue;
            }
            all->tracks[to] = c->tracks[i];
            all->tracks[to].canonical = to;
            out->source_of[to] = s;
            all->n_tracks++;
            src->n_tracks++;
        }
    }
}

/* The same ISRC in an earlier file: the same recording. */
static void join_by_isrc(struct merged *out, struct index *isrcs)
{
    struct catalog *all = &out->all;
    for (uint32_t i = 0; i < all->n_tracks; i++) {
        struct catalog_track *t = &all->tracks[i];
        if (t->canonical != i || !t->isrc[0])
            continue;
        uint32_t earlier = index_get(isrcs, all->tracks, true, t->isrc, i);
        if (earlier == UINT32_MAX)
            continue;
        uint32_t root = all->tracks[earlier].canonical;
        if (out->source_of[root] == out->source_of[i])
            continue; /* one file's own ISRC repeats stay as that file gave them */
        t->canonical = root;
        out->sources[out->source_of[i]].n_merged_isrc++;
    }
}

/* Every track straight to its song (chains are at most two long), counted, and the song given
 * what it lacks, in file order. Returns the number of tracks that are not their own song. */
static uint32_t resolve_songs(struct merged *out)
{
    struct catalog *all = &out->all;
    uint32_t not_canonical = 0;
    for (uint32_t i = 0; i < all->n_tracks; i++) {
        struct catalog_track *t = &all->tracks[i];
        uint32_t root = t->canonical;
        while (all->tracks[root].canonical != root)
            root = all->tracks[root].canonical;
        t->canonical = root;
        struct merge_source *src = &out->sources[out->source_of[i]];
        if (root == i) {
            src->n_songs++;
            continue;
        }
        not_canonical++;
        if (out->source_of[root] != out->source_of[i])
            src->n_merged++;
        else
            src->n_collapsed++;
        src->n_filled += popcount(fill(&all->tracks[root], t));
    }
    return not_canonical;
}

enum merge_status merge_catalogs(struct catalog **catalogs, const char *const *paths, uint32_t n,
                                 uint32_t tolerance_ms, struct merged *out, char *err,
                                 size_t err_len)
{
    enum merge_status status = MERGE_ERR_NOMEM;
    struct index ids = {0}, isrcs = {0};
    memset(out, 0, sizeof *out);
    if (n == 0 || n > MODEL_MAX_SOURCES) {
        errbuf_set(err, err_len, "%u catalogs, want 1..%u", n, MODEL_MAX_SOURCES);
        for (uint32_t s = 0; s < n; s++)
            catalog_free(catalogs[s]);
        return MERGE_ERR_INVALID;
    }
    out->n_sources = n;
    uint64_t total = 0;
    for (uint32_t s = 0; s < n; s++) {
        out->files[s] = catalogs[s];
        total += catalogs[s]->n_tracks;
    }
    if (total > CATALOG_MAX_ROWS) {
        errbuf_set(err, err_len, "%llu tracks together, at most %u", (unsigned long long)total,
                   CATALOG_MAX_ROWS);
        status = MERGE_ERR_LIMIT;
        goto done;
    }
    struct catalog *all = &out->all;
    all->tracks = malloc((total ? total : 1) * sizeof *all->tracks);
    out->source_of = malloc((total ? total : 1) * sizeof *out->source_of);
    if (!all->tracks || !out->source_of || !index_new(&ids, total) || !index_new(&isrcs, total))
        goto done;
    all->schema = n == 1 ? catalogs[0]->schema : "merged";

    join_by_id(out, catalogs, paths, n, &ids);
    /* The per-file track arrays are copied: free them early (strings stay in the files). */
    for (uint32_t s = 0; s < n; s++) {
        free(catalogs[s]->tracks);
        catalogs[s]->tracks = NULL;
        catalogs[s]->n_tracks = 0;
    }

    /* Same title, primary artist and duration, across and within files. */
    if (catalog_collapse(all, tolerance_ms) != CATALOG_OK)
        goto done;
    join_by_isrc(out, &isrcs);
    all->n_collapsed = resolve_songs(out);
    status = MERGE_OK;
done:
    free(ids.slots);
    free(isrcs.slots);
    if (status != MERGE_OK) {
        if (status == MERGE_ERR_NOMEM)
            errbuf_set(err, err_len, "out of memory merging %u catalogs", n);
        merge_free(out);
    }
    return status;
}

enum merge_status merge_load(const char *const *paths, uint32_t n, uint32_t tolerance_ms,
                             struct merged *out, char *err, size_t err_len)
{
    struct catalog *catalogs[MODEL_MAX_SOURCES] = {0};
    memset(out, 0, sizeof *out);
    if (n == 0 || n > MODEL_MAX_SOURCES) {
        errbuf_set(err, err_len, "%u catalogs, want 1..%u", n, MODEL_MAX_SOURCES);
        return MERGE_ERR_INVALID;
    }
    for (uint32_t s = 0; s < n; s++) {
        enum catalog_status cs = catalog_load(paths[s], &catalogs[s], err, err_len);
        if (cs != CATALOG_OK) {
            for (uint32_t i = 0; i < s; i++)
                catalog_free(catalogs[i]);
            return cs == CATALOG_ERR_NOMEM ? MERGE_ERR_NOMEM : MERGE_ERR_CATALOG;
        }
    }
    return merge_catalogs(catalogs, paths, n, tolerance_ms, out, err, err_len);
}

void merge_free(struct merged *merged)
{
    if (!merged)
        return;
    for (uint32_t s = 0; s < merged->n_sources; s++)
        catalog_free(merged->files[s]);
    free(merged->all.tracks);
    free(merged->source_of);
    memset(merged, 0, sizeof *merged);
}

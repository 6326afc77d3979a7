/* The recommendation (recommend.h): resolve saved tracks (artist-only matches included), decide
 * whether the library is one style (ranked flat over the catalog) or several (slots shared across
 * its clusters, the thin rest through the flat ranking), pick in phases (saved artists first,
 * the rest, then new artists for `discover`, with mood-target windows relaxed when short and
 * filters never relaxed), and interleave. Per-request memory grows with the saved tracks and the
 * playlist; it reaches the size of a cluster only when a cluster runs out of candidates and is
 * ranked again with four times as many (the flat ranking's: the catalog), and an array per
 * catalog artist only with `discover`. */
#include "recommend.h"

#include "artist_index.h" /* artist index hook */
#include "artist_pool.h"
#include "errbuf.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ranking RECO_RANK_DEFAULT stands for: set from the quality evaluation's results
 * (tests/quality): mean + artists meets every quality target at a tenth of the cost of
 * votes + artists; the service README says why. */
#define RECO_DEFAULT_RANKING RECO_RANK_MEAN_AND_ARTISTS

/* Nearest-neighbour ranking compares each row with at most this many of the user's tracks in
 * the cluster (an even sample when there are more), so its cost stays bounded. */
#define NN_MAX_ANCHORS 64u
/* Neighbour votes: each of at most VOTE_MAX_ANCHORS of the user's tracks in a cluster (an even
 * sample) names its VOTE_NEIGHBOURS nearest unsaved rows there; where the ranking asks for it, a
 * song by an artist the user saved gets VOTE_ARTIST_BONUS, more than any vote count, so those
 * songs come first (see rank_by_votes). */
#define VOTE_MAX_ANCHORS  256u
#define VOTE_NEIGHBOURS   10u
#define VOTE_ARTIST_BONUS ((float)VOTE_MAX_ANCHORS + 1.0f)
/* Mean and artists: a song by an artist the user saved scores this more than its cosine, more
 * than the whole range of a cosine, so those songs come first, each group by cosine. */
#define MEAN_ARTIST_BONUS 4.0f
/* The saved-artist filter's bits per saved artist (about 3% of other artists pass it and are
 * then looked up exactly), and its largest size in bits (256 KiB). */
#define ARTIST_FILTER_BITS_PER_KEY 32u
#define ARTIST_FILTER_MAX_BITS     (1u << 21)
/* Rows scored at a time by a pass over a cluster (cosines of a block, then their tests). */
#define ARTIST_BLOCK 256u
/* RECO_RANK_MEAN_AND_ARTISTS reads the songs by the saved artists from the model's artist index
 * when there are at most this many per saved track (plus the slack); more (a few saved songs
 * by artists with thousands), and it tests every scanned row's artist instead. Bounds the
 * request's memory by its saved tracks, not by the catalog. */
#define ARTIST_ROWS_PER_SAVED 16u
#define ARTIST_ROWS_SLACK     4096u
/* A song read through the artist index (scattered reads) measured about eight times the cost
 * of a row in a pass over a cluster (one stream): a cluster takes the index when its songs by
 * saved artists are fewer than an eighth of its rows, and the pass otherwise. */
#define ARTIST_INDEX_COST 8u
/* In a pass over a cluster's artist keys, the rows of a block the saved-artist filter lets
 * through are copied together for their cosines when they are at most 1/this of the block;
 * more, and the block's cosines are computed in place. */
#define ARTIST_GATHER_MAX_SHARE 4u
/* When the saved artists have at least 1/this of the catalog's songs, most rows need their
 * cosine anyway, and one loop scoring every row, testing the artist only of a row that could
 * enter the heap, measured faster than testing every row's artist first. */
#define ARTIST_DENSE_SHARE 4u
/* The first pass over a state's rows for the saved artists' songs keeps every eligible one with
 * its score (at most this many; more, and none are kept), so a state that needs more candidates
 * in the same phase ranks them from that pool instead of passing over its rows again (512 KiB
 * at most). */
#define ARTIST_POOL_MAX (1u << 16)
/* Candidates kept per cluster pass (saved rows never enter): this many per slot plus a margin
 * for the artist and same-song rules; a cluster that needs more is passed over again with four
 * times as many. */
#define CANDIDATES_PER_SLOT 4u
#define CANDIDATE_MARGIN    8u

/* Styles (style_weights): a cluster holding at least STYLE_MIN_SHARE_PERCENT of the user's
 * placed tracks is a candidate style; two candidates whose centroids are closer than
 * STYLE_LINK_PERCENT of the median distance between centroids (on the genre dimensions when the
 * model has them, over at most STYLE_SAMPLE centroids) are one style. A library of one style is
 * ranked flat, over the whole catalog (splitting it across clusters cost precision and recall);
 * a library of several shares the slots in proportion across its candidate clusters, and the
 * tracks in thinner clusters share theirs through the flat ranking. Values chosen on the
 * quality evaluation (tests/quality/RESULTS.md, issue 17). */
#define STYLE_MIN_SHARE_PERCENT 8u
#define STYLE_LINK_PERCENT      90u
#define STYLE_SAMPLE            64u
/* Discovery ranks songs by new artists by cosine plus this much times the share of the artist's
 * genre labels (the model's artist genres) that the saved artists have too (0.5 measured better
 * than 0 on both precision and new-artist recall, and than 1 and 2). */
#define DISCOVER_LABEL_BONUS 0.5f

/* Mood targets: candidates are songs within TARGET_WINDOW of each target (0..1 features; tempo
 * in BPM), in the usual order, and a candidate is taken only while the picks' mean stays within
 * TARGET_MEAN of the target, so a song a little off is taken when others balance it. When that
 * leaves the playlist short, both are doubled TARGET_RELAX_STEPS times and then dropped (a
 * target steers, it is not a filter). */
#define TARGET_WINDOW       0.3f
#define TARGET_WINDOW_TEMPO 30.0f
#define TARGET_MEAN         0.08f
#define TARGET_MEAN_TEMPO   8.0f
#define TARGET_RELAX_STEPS  2u
/* With a variety seed, the first round over a cluster's ranking takes one candidate in this
 * many (by the seed), so two seeds share about 1/VARIETY_KEEP of their picks; the ranking keeps
 * this many times the candidates. */
#define VARIETY_KEEP 3u
/* An artist-only match is placed from at most this many of the artist's songs. */
#define ARTIST_PLACE_ROWS 64u

/* Features that describe the sound itself: a track known only by year, duration, popularity
 * or explicitness is not placed from its features. */
#define AUDIO_FEATURES                                                                             \
    ((1u << FEAT_VALENCE) | (1u << FEAT_ACOUSTICNESS) | (1u << FEAT_DANCEABILITY) |                \
     (1u << FEAT_ENERGY) | (1u << FEAT_INSTRUMENTALNESS) | (1u << FEAT_KEY) |                      \
     (1u << FEAT_LIVENESS) | (1u << FEAT_LOUDNESS) | (1u << FEAT_MODE) |                           \
     (1u << FEAT_SPEECHINESS) | (1u << FEAT_TEMPO))

const char *reco_strerror(enum reco_status status)
{
    switch (status) {
    case RECO_OK:
        return "ok";
    case RECO_ERR_INVALID:
        return "invalid argument";
    case RECO_ERR_TOO_LARGE:
        return "over a size limit";
    case RECO_ERR_NO_SAVED:
        return "no saved tracks";
    case RECO_ERR_NO_MATCH:
        return "no saved track matched the catalog";
    case RECO_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown status";
}

void reco_apportion(const uint32_t *counts, size_t n_groups, uint32_t slots, uint32_t *alloc)
{
    uint64_t total = 0;
    for (size_t g = 0; g < n_groups; g++)
        total += counts[g];
    uint64_t given = 0;
    for (size_t g = 0; g < n_groups; g++) {
        alloc[g] = total ? (uint32_t)(((uint64_t)slots * counts[g]) / total) : 0;
        given += alloc[g];
    }
    if (total == 0)
        return;
    /* Hand the rest out one at a time by largest remainder, ties to the lower index. Each
     * group gets at most one, and fewer than n_groups remain. */
    uint64_t rest = slots - given;
    while (rest > 0) {
        size_t best = n_groups;
        uint64_t best_rem = 0;
        for (size_t g = 0; g < n_groups; g++) {
            uint64_t rem = ((uint64_t)slots * counts[g]) % total;
            uint64_t floor_share = ((uint64_t)slots * counts[g]) / total;
            if (alloc[g] > floor_share || counts[g] == 0)
                continue;
            if (best == n_groups || rem > best_rem) {
                best = g;
                best_rem = rem;
            }
        }
        alloc[best]++;
        rest--;
    }
}

/* ---- small sets and maps, sized per request ---- */

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t capacity_for(size_t entries)
{
    size_t cap = 16;
    while (cap < entries * 2)
        cap <<= 1;
    return cap;
}

/* A set of model rows (open addressing; MODEL_NO_ROW marks a free slot). */
struct row_set {
    uint32_t *slots;
    size_t mask;
};

static bool row_set_init(struct row_set *set, size_t entries)
{
    size_t cap = capacity_for(entries);
    set->slots = malloc(cap * sizeof *set->slots);
    set->mask = cap - 1;
    if (!set->slots)
        return false;
    memset(set->slots, 0xff, cap * sizeof *set->slots);
    return true;
}

static bool row_set_has(const struct row_set *set, uint32_t row)
{
    for (size_t i = hash32(row) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == row)
            return true;
        if (set->slots[i] == MODEL_NO_ROW)
            return false;
    }
}

/* Returns true if the row was new. The caller sized the set for every insert. */
static bool row_set_add(struct row_set *set, uint32_t row)
{
    for (size_t i = hash32(row) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == row)
            return false;
        if (set->slots[i] == MODEL_NO_ROW) {
            set->slots[i] = row;
            return true;
        }
    }
}

/* Per primary artist: how many picks it has. */
struct artist_entry {
    uint32_t key;
    bool used;
    uint32_t n_picks;
};

struct artist_map {
    struct artist_entry *slots;
    size_t mask;
};

static bool artist_map_init(struct artist_map *map, size_t entries)
{
    size_t cap = capacity_for(entries);
    map->slots = calloc(cap, sizeof *map->slots);
    map->mask = cap - 1;
    return map->slots != NULL;
}

static struct artist_entry *artist_map_get(struct artist_map *map, uint32_t key, bool create)
{
    for (size_t i = hash32(key) & map->mask;; i = (i + 1) & map->mask) {
        struct artist_entry *e = &map->slots[i];
        if (e->used && e->key == key)
            return e;
        if (!e->used) {
            if (!create)
                return NULL;
            *e = (struct artist_entry){.key = key, .used = true};
            return e;
        }
    }
}

/* The primary artists of the user's saved catalog songs, asked about every row of a cluster
 * pass by the artist rankings. A bitmap indexed by the artist key's low bits (a few kilobytes
 * for a thousand saved songs, so it stays in the first-level cache) turns most rows away with
 * one load; the few that pass are confirmed in an exact open-addressing set. The keys are
 * small integers numbered in catalog order (model_write.c), so their low bits spread well
 * without hashing (a hash measured slower on the hot loop); any other numbering is only slower,
 * never wrong. Keys are below the model's n_artists, so never MODEL_NO_ROW. n == 0 when the
 * user saved no catalog song, and the rankings then skip the test. */
struct saved_artists {
    uint64_t *bits;
    uint32_t bit_mask;
    struct row_set keys;
    uint32_t *list; /* the n keys, in the order they were added */
    uint32_t n;
};

static bool saved_artists_init(struct saved_artists *set, size_t entries)
{
    size_t bits = 64;
    while (bits < entries * ARTIST_FILTER_BITS_PER_KEY && bits < ARTIST_FILTER_MAX_BITS)
        bits <<= 1;
    set->bits = calloc(bits / 64, sizeof *set->bits);
    set->bit_mask = (uint32_t)bits - 1;
    set->n = 0;
    set->list = malloc((entries + 1) * sizeof *set->list);
    if (!set->bits || !set->list)
        return false;
    return row_set_init(&set->keys, entries);
}

/* The caller sized the set for every insert. */
static void saved_artists_add(struct saved_artists *set, uint32_t key)
{
    set->bits[(key & set->bit_mask) >> 6] |= 1ull << (key & 63u);
    if (row_set_add(&set->keys, key))
        set->list[set->n++] = key;
}

static inline bool saved_artists_has(const struct saved_artists *set, uint32_t key)
{
    if (!(set->bits[(key & set->bit_mask) >> 6] & (1ull << (key & 63u))))
        return false;
    return row_set_has(&set->keys, key);
}

/* ---- the request ---- */

/* A saved track that resolved to a point in the scaled space. */
struct resolved {
    uint32_t index;   /* into the caller's saved array */
    uint32_t cluster; /* nearest centroid */
    const float *vec; /* n_dims, in the model or in feature_vecs */
    float inv_norm;   /* 1/|vec|, 0 for the zero vector */
};

struct candidate {
    float score;
    uint32_t row;
};

struct cluster_state {
    uint32_t cluster;
    uint32_t saved; /* resolved saved tracks here */
    uint32_t first; /* their range in the cluster-sorted resolved array */
    uint32_t slots; /* picks it should give */
    uint32_t got;   /* picks it gave */
    bool exhausted;
    struct candidate *ranked; /* best first */
    uint32_t n_ranked, cursor, kept;
    bool complete; /* ranked holds every row of the cluster */
    /* Every eligible song by a saved artist among the state's rows with its score, from the
     * phase's first pass (rank_artist_rows_scanned); pooled once it is whole. */
    struct candidate *pool;
    uint32_t n_pool, pool_cap;
    bool pooled;
    int round; /* with variety: 0 skips by the seed, 1 takes everything left */
};

/* A mood target as a window on one raw feature. */
struct target_window {
    enum model_feature feature;
    float value, half;
    float mean_tolerance; /* the picks' mean stays within this of value */
    uint32_t dim;         /* the feature's dimension in the scaled space, or n_dims if none */
    float scaled;         /* value in the scaled space */
    double sum;           /* of the feature over the picks taken while targets were on */
};

struct picking {
    const struct model *model;
    const struct reco_saved *saved;
    uint32_t n_dims;
    enum reco_ranking ranking;
    uint64_t variety;
    uint32_t max_per_artist;
    struct resolved *resolved; /* sorted by cluster */
    uint32_t n_resolved;
    float *feature_vecs;
    float *global_mean;
    struct row_set excluded;
    struct row_set picked_rows;
    struct artist_map artists;
    struct saved_artists saved_artists; /* filled after resolve_all */
    /* With RECO_RANK_MEAN_AND_ARTISTS, from the model's artist index (gather_artist_rows): the
     * unsaved songs by the saved artists, grouped by cluster: cluster c's are
     * artist_rows[artist_rows_start[c] .. artist_rows_start[c + 1]). NULL: not gathered (too
     * many), and the ranking tests every row's artist instead. */
    uint32_t *artist_rows;
    uint32_t *artist_rows_start;
    bool artists_dense;   /* the saved artists have 1/ARTIST_DENSE_SHARE of the songs or more */
    uint32_t *saved_rows; /* catalog songs the user saved, each once */
    uint32_t n_saved_rows;
    struct row_set saved_songs;  /* their song keys (model_row_song_key): never picked */
    struct row_set picked_songs; /* the picks' song keys: never picked twice */
    struct reco_pick *picks;
    uint32_t n_picks, want;
    uint32_t limit;     /* the current phase stops at this many picks (<= want) */
    bool artists_first; /* the default ranking: songs by saved artists across styles first */
    /* Discovery: how much each artist's genre labels share with the saved artists' (NaN until
     * asked; see artist_affinity), and the saved artists' labels as a set of hashes. */
    float *affinity;
    struct label_set {
        uint64_t *slots; /* 0 = free */
        size_t mask;
    } labels;
    float *scratch; /* 2 * n_dims + NN_MAX_ANCHORS * n_dims */
    /* Steering (see struct reco_options). */
    float discover;
    bool new_artists_only;   /* the discovery phase: no song by a saved artist */
    bool saved_artists_only; /* the familiar phase's first part: only songs by saved artists */
    uint16_t year_from, year_to;
    bool no_explicit;
    struct target_window windows[4];
    uint32_t n_windows;
    uint32_t n_targeted;        /* picks taken while the windows were on */
    float window_scale;         /* windows are value +- half * window_scale; 0: windows off */
    bool restricted;            /* any of the rules above is on: rows go through passes_rules */
    uint32_t *artist_only_keys; /* artist keys of artist-only matches */
    uint32_t n_artist_only;
    /* artist index hook: the model's load-time index (NULL: recommend() without one) and, with
     * it, one pool of the saved artists' songs per state (k + 1, the last the flat ranking's). */
    const struct reco_artist_index *artist_index;
    struct artist_pool *artist_pools;
};

static enum reco_status check_text(const char *text, size_t index, const char *field, char *err,
                                   size_t err_len)
{
    if (!text)
        return RECO_OK;
    size_t len = strnlen(text, RECO_MAX_TEXT + 1);
    if (len > RECO_MAX_TEXT) {
        errbuf_set(err, err_len, "saved[%zu].%s: longer than the limit of %u bytes", index, field,
                   RECO_MAX_TEXT);
        return RECO_ERR_INVALID;
    }
    return RECO_OK;
}

/* True for a title or artist name that matching may use: present, not empty, and at most
 * RECO_MAX_TEXT bytes (a longer one is ignored rather than failing the whole request). */
static bool usable_text(const char *text)
{
    return text && text[0] && strnlen(text, RECO_MAX_TEXT + 1) <= RECO_MAX_TEXT;
}

static enum reco_status validate(const struct model *model, const struct reco_saved *saved,
                                 size_t n_saved, const struct reco_options *options, char *err,
                                 size_t err_len)
{
    if (n_saved == 0) {
        errbuf_set(err, err_len, "saved: no saved tracks given; save some songs first");
        return RECO_ERR_NO_SAVED;
    }
    if (n_saved > RECO_MAX_SAVED) {
        errbuf_set(err, err_len, "saved: %zu tracks exceeds the limit of %u", n_saved,
                   RECO_MAX_SAVED);
        return RECO_ERR_TOO_LARGE;
    }
    if (options->n > RECO_MAX_N) {
        errbuf_set(err, err_len, "n: %u exceeds the limit of %u", options->n, RECO_MAX_N);
        return RECO_ERR_INVALID;
    }
    if (options->ranking > RECO_RANK_FLAT) {
        errbuf_set(err, err_len, "ranking: %d is not a known ranking (0..%d)",
                   (int)options->ranking, (int)RECO_RANK_FLAT);
        return RECO_ERR_INVALID;
    }
    if (!(options->discover >= 0.0f && options->discover <= 1.0f)) {
        errbuf_set(err, err_len, "discover: %g is outside 0..1", (double)options->discover);
        return RECO_ERR_INVALID;
    }
    const struct {
        const char *name;
        const struct reco_target *target;
        float max;
    } targets[] = {{"energy", &options->energy, 1.0f},
                   {"valence", &options->valence, 1.0f},
                   {"danceability", &options->danceability, 1.0f},
                   {"tempo", &options->tempo, RECO_MAX_TEMPO}};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        const struct reco_target *x = targets[t].target;
        float min = targets[t].max > 1.0f ? 1.0f : 0.0f;
        if (x->set && !(x->value >= min && x->value <= targets[t].max)) {
            errbuf_set(err, err_len, "target.%s: %g is outside %g..%g", targets[t].name,
                       (double)x->value, (double)min, (double)targets[t].max);
            return RECO_ERR_INVALID;
        }
    }
    const uint16_t years[2] = {options->year_from, options->year_to};
    for (int y = 0; y < 2; y++) {
        if (years[y] != 0 && (years[y] < RECO_MIN_YEAR || years[y] > RECO_MAX_YEAR)) {
            errbuf_set(err, err_len, "years: %u is outside %u..%u", years[y], RECO_MIN_YEAR,
                       RECO_MAX_YEAR);
            return RECO_ERR_INVALID;
        }
    }
    if (years[0] != 0 && years[1] != 0 && years[0] > years[1]) {
        errbuf_set(err, err_len, "years: from %u is after to %u", years[0], years[1]);
        return RECO_ERR_INVALID;
    }
    if (model->n_dims == 0 || model->k == 0) {
        errbuf_set(err, err_len, "model: no dimensions or no clusters");
        return RECO_ERR_INVALID;
    }
    for (size_t i = 0; i < n_saved; i++) {
        const struct reco_saved *s = &saved[i];
        /* An id or ISRC that long is no Spotify value: the request is refused. A title or an
         * artist name that long is real data (the 114k catalog has a 517-byte title): it is
         * not used for matching (see usable_text), and the track still matches by id. */
        enum reco_status st = check_text(s->id, i, "id", err, err_len);
        if (st == RECO_OK)
            st = check_text(s->isrc, i, "isrc", err, err_len);
        if (st != RECO_OK)
            return st;
        if (s->n_artists > RECO_MAX_ARTISTS) {
            errbuf_set(err, err_len, "saved[%zu].artists: %u exceeds the limit of %u", i,
                       s->n_artists, RECO_MAX_ARTISTS);
            return RECO_ERR_INVALID;
        }
        for (int f = 0; f < FEAT_COUNT; f++) {
            if ((s->raw.present & (1u << f)) && !isfinite(s->raw.value[f])) {
                errbuf_set(err, err_len, "saved[%zu].features.%s: not a finite number", i,
                           model_feature_name((enum model_feature)f));
                return RECO_ERR_INVALID;
            }
        }
    }
    return RECO_OK;
}

static float norm_of(const float *v, uint32_t n)
{
    float sum = 0;
    for (uint32_t d = 0; d < n; d++)
        sum += v[d] * v[d];
    return sqrtf(sum);
}

/* Four floats at a time (SSE on x86-64, NEON on arm64) through the compilers' portable vector
 * extension; rows are not aligned, so the loads go through memcpy. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float dot(const float *a, const float *b, uint32_t n)
{
    v4f acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    uint32_t d = 0;
    for (; d + 8 <= n; d += 8) {
        acc0 += load4(a + d) * load4(b + d);
        acc1 += load4(a + d + 4) * load4(b + d + 4);
    }
    for (; d + 4 <= n; d += 4)
        acc0 += load4(a + d) * load4(b + d);
    acc0 += acc1;
    float s = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
    for (; d < n; d++)
        s += a[d] * b[d];
    return s;
}

/* dot()'s vector part for one row: its two accumulators summed, and where the scalar tail
 * starts. */
static inline __attribute__((always_inline)) v4f dot_lanes(const float *a, const float *b,
                                                           uint32_t n, uint32_t *tail)
{
    v4f acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    uint32_t d = 0;
    for (; d + 8 <= n; d += 8) {
        acc0 += load4(a + d) * load4(b + d);
        acc1 += load4(a + d + 4) * load4(b + d + 4);
    }
    for (; d + 4 <= n; d += 4)
        acc0 += load4(a + d) * load4(b + d);
    *tail = d;
    return acc0 + acc1;
}

#if defined(__clang__)
#define SHUFFLE_EVEN(x, y) __builtin_shufflevector(x, y, 0, 2, 4, 6)
#define SHUFFLE_ODD(x, y)  __builtin_shufflevector(x, y, 1, 3, 5, 7)
#else
#define SHUFFLE_EVEN(x, y) __builtin_shuffle(x, y, (v4i){0, 2, 4, 6})
#define SHUFFLE_ODD(x, y)  __builtin_shuffle(x, y, (v4i){1, 3, 5, 7})
#endif

/* dot(row, b, n) of four consecutive rows (n floats apart) into out[0..3]: the same float
 * operations in the same order, so the same results, with the horizontal sums
 * (x0 + x1) + (x2 + x3) and the scalar tail done for the four rows at once. */
static inline __attribute__((always_inline)) void dot4(const float *rows, const float *b,
                                                       uint32_t n, float *out)
{
    uint32_t d = 0;
    v4f a0 = dot_lanes(rows, b, n, &d);
    v4f a1 = dot_lanes(rows + n, b, n, &d);
    v4f a2 = dot_lanes(rows + 2 * (size_t)n, b, n, &d);
    v4f a3 = dot_lanes(rows + 3 * (size_t)n, b, n, &d);
    v4f p = SHUFFLE_EVEN(a0, a1) + SHUFFLE_ODD(a0, a1); /* a0[0]+a0[1], a0[2]+a0[3], a1.. */
    v4f q = SHUFFLE_EVEN(a2, a3) + SHUFFLE_ODD(a2, a3);
    v4f s = SHUFFLE_EVEN(p, q) + SHUFFLE_ODD(p, q);
    for (; d < n; d++) {
        v4f x = {rows[d], rows[n + d], rows[2 * (size_t)n + d], rows[3 * (size_t)n + d]};
        v4f y = {b[d], b[d], b[d], b[d]};
        s += x * y;
    }
    memcpy(out, &s, sizeof s);
}

/* dot() of len consecutive rows with u, each times inv_u and divided by the row's norm (0 for a
 * zero row), into out: the cosines of a block. The same float operations in the same order as
 * dot(row, u, nd) * inv_u / norm, so the same results; nd is a constant in the cases below, so
 * the compiler unrolls the dot and keeps u in registers, and the scaling goes four rows at a
 * time (divps gives each lane what divss would). */
static inline __attribute__((always_inline)) void cosines_n(const float *rows, const float *norms,
                                                            const float *u, float inv_u,
                                                            uint32_t nd, uint32_t len, float *out)
{
    uint32_t r = 0;
    for (; r + 4 <= len; r += 4)
        dot4(rows + (size_t)r * nd, u, nd, out + r);
    for (; r < len; r++)
        out[r] = dot(rows + (size_t)r * nd, u, nd);
    const v4f zero = {0, 0, 0, 0};
    const v4f scale = {inv_u, inv_u, inv_u, inv_u};
    uint32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        v4f rn = load4(norms + i);
        v4f q = load4(out + i) * scale / rn;
        v4i positive = rn > zero;
        q = (v4f)((v4i)q & positive);
        memcpy(out + i, &q, sizeof q);
    }
    for (; i < len; i++)
        out[i] = norms[i] > 0 ? out[i] * inv_u / norms[i] : 0.0f;
}

static void cosines(const float *rows, const float *norms, const float *u, float inv_u, uint32_t nd,
                    uint32_t len, float *out)
{
    switch (nd) {
    case 12:
        cosines_n(rows, norms, u, inv_u, 12, len, out);
        break;
    case 13:
        cosines_n(rows, norms, u, inv_u, 13, len, out);
        break;
    case 14:
        cosines_n(rows, norms, u, inv_u, 14, len, out);
        break;
    case 15:
        cosines_n(rows, norms, u, inv_u, 15, len, out);
        break;
    case 16:
        cosines_n(rows, norms, u, inv_u, 16, len, out);
        break;
    /* The audio features and reco-model's default 8-dimension genre embedding. */
    case 21:
        cosines_n(rows, norms, u, inv_u, 21, len, out);
        break;
    case 22:
        cosines_n(rows, norms, u, inv_u, 22, len, out);
        break;
    case 23:
        cosines_n(rows, norms, u, inv_u, 23, len, out);
        break;
    default:
        cosines_n(rows, norms, u, inv_u, nd, len, out);
        break;
    }
}

static void note_saved_song(struct picking *p, uint32_t row)
{
    if (!row_set_add(&p->excluded, row))
        return;
    p->saved_rows[p->n_saved_rows++] = row;
    row_set_add(&p->saved_songs, model_row_song_key(p->model, row));
}

/* The cluster of a row, from the cluster boundaries alone (the row metadata would cost a cache
 * miss): the last cluster whose first row is at or before it. */
static uint32_t cluster_of_row(const struct model *m, uint32_t row)
{
    uint32_t lo = 0, hi = m->k;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->cluster_start[mid] <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The RECO_DECADES index of a saved track's release year (as the caller gave it). */
static uint32_t decade_of(const struct reco_saved *s)
{
    if (!(s->raw.present & (1u << FEAT_YEAR)) || !isfinite(s->raw.value[FEAT_YEAR]) ||
        s->raw.value[FEAT_YEAR] < 1.0)
        return 0;
    double year = s->raw.value[FEAT_YEAR];
    if (year < 1960.0)
        return 1;
    if (year >= 2020.0)
        return RECO_DECADES - 1;
    return 2 + (uint32_t)((year - 1960.0) / 10.0);
}

/* An artist-only match: the cluster most of the artist's songs (the first ARTIST_PLACE_ROWS
 * of them) are in, ties to the lower, and into vec the mean of those songs there. */
static uint32_t place_by_artist(const struct model *m, uint32_t key, float *vec)
{
    uint32_t first = m->artist_start[key], end = m->artist_start[key + 1];
    if (end - first > ARTIST_PLACE_ROWS)
        end = first + ARTIST_PLACE_ROWS;
    uint32_t cluster[ARTIST_PLACE_ROWS];
    uint32_t best = 0, best_count = 0;
    for (uint32_t i = first; i < end; i++)
        cluster[i - first] = cluster_of_row(m, m->artist_rows[i]);
    for (uint32_t i = 0; i < end - first; i++) {
        uint32_t count = 0;
        for (uint32_t j = 0; j < end - first; j++)
            count += cluster[j] == cluster[i];
        if (count > best_count || (count == best_count && cluster[i] < best)) {
            best = cluster[i];
            best_count = count;
        }
    }
    memset(vec, 0, m->n_dims * sizeof *vec);
    for (uint32_t i = first; i < end; i++) {
        if (cluster[i - first] != best)
            continue;
        const float *row = m->rows + (size_t)m->artist_rows[i] * m->n_dims;
        for (uint32_t d = 0; d < m->n_dims; d++)
            vec[d] += row[d];
    }
    for (uint32_t d = 0; d < m->n_dims; d++)
        vec[d] /= (float)(best_count ? best_count : 1);
    return best;
}

/* Step 1 and 2: resolve every saved track and place it in a cluster. */
static enum reco_status resolve_all(struct picking *p, size_t n_saved, struct reco_stats *stats,
                                    uint32_t *counts)
{
    const struct model *m = p->model;
    uint32_t mask = 0;
    for (uint32_t f = 0; f < m->n_features; f++)
        mask |= 1u << m->features[f];
    struct resolved *unsorted = malloc(n_saved * sizeof *unsorted);
    const char **ids = malloc(n_saved * sizeof *ids);
    uint32_t *id_rows = malloc(n_saved * sizeof *id_rows);
    if (!unsorted || !ids || !id_rows) {
        free(unsorted);
        free(ids);
        free(id_rows);
        return RECO_ERR_NOMEM;
    }
    /* Every id at once: the lookups' memory reads overlap (model_find_ids). */
    for (size_t i = 0; i < n_saved; i++)
        ids[i] = p->saved[i].id;
    model_find_ids(m, ids, n_saved, id_rows);
    free(ids);
    uint32_t n_feature_vecs = 0;
    stats->saved = (uint32_t)n_saved;
    for (size_t i = 0; i < n_saved; i++) {
        const struct reco_saved *s = &p->saved[i];
        uint32_t row = MODEL_NO_ROW;
        enum reco_match how = RECO_MATCH_NONE;
        const char *artist = s->n_artists > 0 ? s->artists[0] : NULL;
        if (s->id && s->id[0]) {
            row = id_rows[i];
            how = RECO_MATCH_ID;
        }
        if (row == MODEL_NO_ROW && s->isrc && s->isrc[0]) {
            row = model_find_isrc(m, s->isrc);
            how = RECO_MATCH_ISRC;
        }
        if (row == MODEL_NO_ROW && usable_text(s->name) && usable_text(artist)) {
            row = model_find_song(m, s->name, artist, s->duration_ms);
            how = RECO_MATCH_TITLE;
        }
        struct resolved *r = &unsorted[p->n_resolved];
        if (row != MODEL_NO_ROW) {
            note_saved_song(p, row);
            r->vec = m->rows + (size_t)row * p->n_dims;
            r->cluster = model_row_cluster(m, row);
            r->inv_norm = m->row_norms[row] > 0 ? 1.0f / m->row_norms[row] : 0.0f;
        } else if (s->raw.present & mask & AUDIO_FEATURES) {
            how = RECO_MATCH_FEATURES;
            float *vec = p->feature_vecs + (size_t)n_feature_vecs++ * p->n_dims;
            model_transform(m, &s->raw, vec);
            r->vec = vec;
            r->cluster = model_nearest_centroid(m, vec, NULL);
            float n = norm_of(vec, p->n_dims);
            r->inv_norm = n > 0 ? 1.0f / n : 0.0f;
        } else {
            how = RECO_MATCH_NONE;
        }
        bool song_match = how == RECO_MATCH_ID || how == RECO_MATCH_ISRC || how == RECO_MATCH_TITLE;
        bool artist_only = false;
        if (!song_match && usable_text(artist)) {
            /* No catalog song, but its primary artist may be in the catalog: the artist feeds
             * the saved-artists rule, and, when the track has no audio features of its own, it
             * is placed among the artist's songs. */
            uint32_t key = model_find_artist(m, artist);
            if (key != MODEL_NO_ROW && key < m->n_artists) {
                p->artist_only_keys[p->n_artist_only++] = key;
                if (how == RECO_MATCH_NONE) {
                    float *vec = p->feature_vecs + (size_t)n_feature_vecs++ * p->n_dims;
                    r->cluster = place_by_artist(m, key, vec);
                    r->vec = vec;
                    float n = norm_of(vec, p->n_dims);
                    r->inv_norm = n > 0 ? 1.0f / n : 0.0f;
                    artist_only = true;
                }
            }
        }
        uint32_t decade = decade_of(s);
        stats->decade_saved[decade]++;
        if (song_match)
            stats->decade_song[decade]++;
        if (artist_only) {
            stats->decade_artist[decade]++;
            stats->by_artist++;
            r->index = (uint32_t)i;
            counts[r->cluster]++;
            p->n_resolved++;
        }
        if (how != RECO_MATCH_ID && how != RECO_MATCH_ISRC && how != RECO_MATCH_TITLE &&
            usable_text(s->name) && usable_text(artist)) {
            /* Not placed by a catalog row, but it may still be a catalog song: never
             * recommend it back. */
            uint32_t same = model_find_song(m, s->name, artist, 0);
            if (same != MODEL_NO_ROW)
                note_saved_song(p, same);
        }
        switch (how) {
        case RECO_MATCH_ID:
            stats->by_id++;
            break;
        case RECO_MATCH_ISRC:
            stats->by_isrc++;
            break;
        case RECO_MATCH_TITLE:
            stats->by_title++;
            break;
        case RECO_MATCH_FEATURES:
            stats->by_features++;
            break;
        case RECO_MATCH_NONE:
            if (!artist_only)
                stats->unmatched++;
            continue;
        }
        r->index = (uint32_t)i;
        counts[r->cluster]++;
        p->n_resolved++;
    }
    /* Counting sort by cluster, keeping the callers' order inside each. */
    free(id_rows);
    uint32_t *next_slot = calloc(m->k, sizeof *next_slot);
    if (!next_slot) {
        free(unsorted);
        return RECO_ERR_NOMEM;
    }
    uint32_t at = 0;
    for (uint32_t c = 0; c < m->k; c++) {
        next_slot[c] = at;
        at += counts[c];
    }
    for (uint32_t i = 0; i < p->n_resolved; i++)
        p->resolved[next_slot[unsorted[i].cluster]++] = unsorted[i];
    free(next_slot);
    free(unsorted);
    return RECO_OK;
}

/* For RECO_RANK_MEAN_AND_ARTISTS: every unsaved song by a saved artist, from the model's artist
 * index, grouped by cluster into p->artist_rows (see struct picking). Leaves them NULL when
 * there are more than ARTIST_ROWS_PER_SAVED a saved track, or so many that the index cannot pay
 * in any cluster (ARTIST_INDEX_COST); sets p->artists_dense. Fails only for memory. */
static enum reco_status gather_artist_rows(struct picking *p, size_t n_saved)
{
    const struct model *m = p->model;
    const struct saved_artists *sa = &p->saved_artists;
    uint64_t total = 0;
    for (uint32_t i = 0; i < sa->n; i++)
        total += m->artist_start[sa->list[i] + 1] - m->artist_start[sa->list[i]];
    p->artists_dense = total * ARTIST_DENSE_SHARE >= m->n_rows;
    if (p->artist_index)
        return RECO_OK; /* artist index hook: the pools read the index instead */
    if (total > (uint64_t)n_saved * ARTIST_ROWS_PER_SAVED + ARTIST_ROWS_SLACK ||
        total * ARTIST_INDEX_COST >= m->n_rows)
        return RECO_OK; /* too many to gather, or too many for the index to pay anywhere */
    enum reco_status status = RECO_ERR_NOMEM;
    uint32_t *found = malloc((total + 1) * sizeof *found);
    uint32_t *cluster = malloc((total + 1) * sizeof *cluster);
    uint32_t *fill = malloc(((size_t)m->k + 1) * sizeof *fill);
    p->artist_rows = malloc((total + 1) * sizeof *p->artist_rows);
    p->artist_rows_start = calloc((size_t)m->k + 1, sizeof *p->artist_rows_start);
    if (!found || !cluster || !fill || !p->artist_rows || !p->artist_rows_start)
        goto done;
    uint32_t n = 0;
    for (uint32_t i = 0; i < sa->n; i++) {
        for (uint32_t at = m->artist_start[sa->list[i]]; at < m->artist_start[sa->list[i] + 1];
             at++) {
            uint32_t row = m->artist_rows[at];
            if (row_set_has(&p->excluded, row))
                continue;
            found[n] = row;
            cluster[n] = cluster_of_row(m, row);
            p->artist_rows_start[cluster[n] + 1]++;
            n++;
        }
    }
    for (uint32_t c = 0; c < m->k; c++)
        p->artist_rows_start[c + 1] += p->artist_rows_start[c];
    /* Counting sort by cluster; fill[c] runs from start[c] to start[c + 1]. */
    memcpy(fill, p->artist_rows_start, m->k * sizeof *fill);
    for (uint32_t i = 0; i < n; i++)
        p->artist_rows[fill[cluster[i]]++] = found[i];
    status = RECO_OK;
done:
    free(fill);
    free(found);
    free(cluster);
    return status; /* on failure the caller frees p->artist_rows and p->artist_rows_start */
}

/* True when a is a better candidate than b: higher score, then lower row. */
static bool better(const struct candidate *a, const struct candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static void heap_sift_down(struct candidate *heap, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t worst = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && better(&heap[worst], &heap[l]))
            worst = l;
        if (r < n && better(&heap[worst], &heap[r]))
            worst = r;
        if (worst == i)
            return;
        struct candidate t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

static void heap_push(struct candidate *heap, uint32_t *n, uint32_t cap, struct candidate c)
{
    if (*n < cap) {
        uint32_t i = (*n)++;
        heap[i] = c;
        while (i > 0) {
            uint32_t parent = (i - 1) / 2;
            if (!better(&heap[parent], &heap[i]))
                break;
            struct candidate t = heap[i];
            heap[i] = heap[parent];
            heap[parent] = t;
            i = parent;
        }
        return;
    }
    if (better(&c, &heap[0])) {
        heap[0] = c;
        heap_sift_down(heap, *n, 0);
    }
}

static int by_rank(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (better(x, y))
        return -1;
    if (better(y, x))
        return 1;
    return 0;
}

static void mean_of(const struct picking *p, uint32_t first, uint32_t count, float *out)
{
    memset(out, 0, p->n_dims * sizeof *out);
    for (uint32_t i = first; i < first + count; i++)
        for (uint32_t d = 0; d < p->n_dims; d++)
            out[d] += p->resolved[i].vec[d];
    for (uint32_t d = 0; d < p->n_dims; d++)
        out[d] /= (float)count;
}

/* One row an anchor names among its nearest neighbours. */
struct vote {
    uint32_t row;
    float distance2;
};

static int by_vote_row(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->distance2 > y->distance2) - (x->distance2 < y->distance2);
}

static int same_vote_row(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

/* True when the user saved a song by the row's primary artist. */
static inline bool by_saved_artist(const struct picking *p, uint32_t row)
{
    return p->saved_artists.n > 0 &&
           saved_artists_has(&p->saved_artists, p->model->artist_keys[row]);
}

/* The steering rules that do not depend on the row's artist: the release years, no explicit
 * lyrics (a song whose catalog does not say is left out), and the mood target windows. */
static bool passes_song_rules(const struct picking *p, uint32_t row)
{
    const struct model *m = p->model;
    if (p->year_from || p->year_to) {
        uint16_t year = model_row_year(m, row);
        if (year == 0 || (p->year_from && year < p->year_from) || (p->year_to && year > p->year_to))
            return false;
    }
    if (p->no_explicit &&
        (!model_row_has_feature(m, row, FEAT_EXPLICIT) || model_row_explicit(m, row)))
        return false;
    if (p->window_scale > 0.0f) {
        for (uint32_t t = 0; t < p->n_windows; t++) {
            const struct target_window *w = &p->windows[t];
            float v = model_row_feature(m, row, w->feature);
            if (!(fabsf(v - w->value) <= w->half * p->window_scale))
                return false;
        }
    }
    return true;
}

/* The steering rules for a row that is not a saved song: the discovery phase's new artists
 * only, the familiar phase's saved artists only, and passes_song_rules. */
static bool passes_rules(const struct picking *p, uint32_t row)
{
    if (p->new_artists_only && by_saved_artist(p, row))
        return false;
    if (p->saved_artists_only && !by_saved_artist(p, row))
        return false;
    return passes_song_rules(p, row);
}

/* eligible() for a row known to be by a saved artist: the artist rules need no lookup. */
static inline bool eligible_by_saved_artist(const struct picking *p, uint32_t row)
{
    if (row_set_has(&p->excluded, row) || (p->restricted && p->new_artists_only))
        return false;
    const bool song_rules = p->year_from || p->year_to || p->no_explicit || p->window_scale > 0.0f;
    return !song_rules || passes_song_rules(p, row);
}

/* A row a ranking may put forward: not a saved song, and within the steering rules. */
static inline bool eligible(const struct picking *p, uint32_t row)
{
    if (row_set_has(&p->excluded, row))
        return false;
    return !p->restricted || passes_rules(p, row);
}

/* RECO_RANK_NEIGHBOUR_VOTES and RECO_RANK_VOTES_AND_ARTISTS inside one cluster: each anchor (an
 * even sample of at most VOTE_MAX_ANCHORS of the user's tracks in the cluster) names its
 * VOTE_NEIGHBOURS nearest unsaved rows of the cluster (squared Euclidean, scaled space). A named
 * row scores its votes + 1 / (1 + distance to its nearest voter); any other row
 * 1 / (1 + distance to its nearest anchor), so rows several of the user's tracks agree on come
 * first. With artists, a row by the primary artist of a saved song scores VOTE_ARTIST_BONUS
 * more: songs by saved artists first, each group in vote order. One pass over the cluster;
 * memory is proportional to the anchors and keep. Fills heap
 * (capacity keep) and *n_out. */
static enum reco_status rank_by_votes(struct picking *p, const struct cluster_state *cs,
                                      uint32_t start, uint32_t end, uint32_t keep, bool artists,
                                      struct candidate *heap, uint32_t *n_out)
{
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims;
    const uint32_t n_anchors = cs->saved < VOTE_MAX_ANCHORS ? cs->saved : VOTE_MAX_ANCHORS;
    const size_t n_named = (size_t)n_anchors * VOTE_NEIGHBOURS;
    enum reco_status status = RECO_ERR_NOMEM;
    /* Anchors stored dimension-major ([d][a], padded to a multiple of 16), so one row's squared
     * distances to sixteen anchors are computed at once in four independent sums, each summed
     * over d in the same order as a plain loop would (the results are the same floats). */
    const uint32_t padded = (n_anchors + 15u) & ~15u;
    float *anchors = calloc((size_t)padded * nd + 1, sizeof *anchors);
    float *row_d2 = malloc(((size_t)padded + 1) * sizeof *row_d2);
    struct vote *named = malloc((n_named + 1) * sizeof *named);
    struct candidate *merged = malloc((n_named + keep + 1) * sizeof *merged);
    uint32_t n = 0;
    if (!anchors || !row_d2 || !named || !merged)
        goto done;
    for (uint32_t a = 0; a < n_anchors; a++) {
        const struct resolved *r =
            &p->resolved[cs->first + (uint32_t)(((uint64_t)a * cs->saved) / n_anchors)];
        for (uint32_t d = 0; d < nd; d++)
            anchors[(size_t)d * padded + a] = r->vec[d];
    }
    /* named[a * VOTE_NEIGHBOURS ...] holds anchor a's nearest rows, nearest first. */
    for (size_t i = 0; i < n_named; i++)
        named[i] = (struct vote){MODEL_NO_ROW, INFINITY};
    for (uint32_t row = start; row < end; row++) {
        if (!eligible(p, row))
            continue;
        const float *v = m->rows + (size_t)row * nd;
        for (uint32_t a = 0; a < padded; a += 16) {
            v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
            for (uint32_t d = 0; d < nd; d++) {
                const float *x = anchors + (size_t)d * padded + a;
                v4f here = {v[d], v[d], v[d], v[d]};
                v4f d0 = here - load4(x), d1 = here - load4(x + 4);
                v4f d2 = here - load4(x + 8), d3 = here - load4(x + 12);
                s0 += d0 * d0;
                s1 += d1 * d1;
                s2 += d2 * d2;
                s3 += d3 * d3;
            }
            memcpy(row_d2 + a, &s0, sizeof s0);
            memcpy(row_d2 + a + 4, &s1, sizeof s1);
            memcpy(row_d2 + a + 8, &s2, sizeof s2);
            memcpy(row_d2 + a + 12, &s3, sizeof s3);
        }
        float nearest = INFINITY;
        for (uint32_t a = 0; a < n_anchors; a++) {
            float d2 = row_d2[a];
            if (d2 < nearest)
                nearest = d2;
            struct vote *list = named + (size_t)a * VOTE_NEIGHBOURS;
            if (!(d2 < list[VOTE_NEIGHBOURS - 1].distance2))
                continue;
            uint32_t at = VOTE_NEIGHBOURS - 1;
            while (at > 0 && d2 < list[at - 1].distance2) {
                list[at] = list[at - 1];
                at--;
            }
            list[at] = (struct vote){row, d2};
        }
        float s = 1.0f / (1.0f + sqrtf(nearest));
        if (artists && by_saved_artist(p, row))
            s += VOTE_ARTIST_BONUS;
        if ((n < keep || s > heap[0].score) && eligible(p, row))
            heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    /* Count the votes: sorted by row, each run is one named row, its nearest voter first. */
    qsort(named, n_named, sizeof *named, by_vote_row);
    uint32_t n_merged = 0;
    for (size_t i = 0; i < n_named && named[i].row != MODEL_NO_ROW;) {
        size_t j = i;
        while (j < n_named && named[j].row == named[i].row)
            j++;
        float s = (float)(j - i) + 1.0f / (1.0f + sqrtf(named[i].distance2));
        if (artists && by_saved_artist(p, named[i].row))
            s += VOTE_ARTIST_BONUS;
        merged[n_merged++] = (struct candidate){s, named[i].row};
        i = j;
    }
    /* The unnamed rows the pass kept follow by their own score. */
    for (uint32_t i = 0; i < n; i++) {
        struct vote probe = {heap[i].row, 0};
        if (!bsearch(&probe, named, n_named, sizeof *named, same_vote_row))
            merged[n_merged++] = heap[i];
    }
    qsort(merged, n_merged, sizeof *merged, by_rank);
    n = n_merged < keep ? n_merged : keep;
    memcpy(heap, merged, n * sizeof *heap);
    status = RECO_OK;
done:
    *n_out = n;
    free(anchors);
    free(row_d2);
    free(named);
    free(merged);
    return status;
}

/* cosines() of one row: dot() then the scaling, the same float operations as a row of a block
 * (recommend_test checks it bit for bit). */
float reco_cosine_of_row(const struct model *m, uint32_t row, const float *u, float inv_u)
{
    float s;
    cosines(m->rows + (size_t)row * m->n_dims, m->row_norms + row, u, inv_u, m->n_dims, 1, &s);
    return s;
}

void reco_cosines(const struct model *m, uint32_t first, uint32_t len, const float *u, float inv_u,
                  float *out)
{
    cosines(m->rows + (size_t)first * m->n_dims, m->row_norms + first, u, inv_u, m->n_dims, len,
            out);
}

/* artist index hook: the kernel for artist_pool.c. */
void reco_cosines_rows(const float *rows, const float *norms, uint32_t n_dims, uint32_t len,
                       const float *u, float inv_u, float *out)
{
    cosines(rows, norms, u, inv_u, n_dims, len, out);
}

/* RECO_RANK_MEAN_AND_ARTISTS, the songs by saved artists in a cluster (or in every cluster for the
 * flat ranking), artist_rows[a_first .. a_end) of those the artist index gathered: each scores its cosine plus MEAN_ARTIST_BONUS into heap (capacity keep, empty).
 * Returns how many the heap holds. */
static uint32_t rank_artist_rows_indexed(const struct picking *p, uint32_t a_first, uint32_t a_end,
                                         const float *u, float inv_u, struct candidate *heap,
                                         uint32_t keep)
{
    uint32_t n = 0;
    for (uint32_t i = a_first; i < a_end; i++) {
        uint32_t row = p->artist_rows[i];
        if (p->restricted && !passes_rules(p, row))
            continue;
        float s = reco_cosine_of_row(p->model, row, u, inv_u) + MEAN_ARTIST_BONUS;
        heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    return n;
}

/* The same from a pass over the rows [start, end): their artist keys are contiguous, so the
 * saved-artist filter bit of a block of rows is read without a branch, and only a row it lets
 * through has its cosine computed and its artist confirmed (the filter lets about 3% of other
 * artists through). Rows go in ascending order, so a row that only ties the heap's worst is
 * worse (by row) and is passed over. */
static uint32_t rank_artist_rows_scanned(const struct picking *p, struct cluster_state *cs,
                                         uint32_t start, uint32_t end, const float *u, float inv_u,
                                         struct candidate *heap, uint32_t keep)
{
    bool pooling = cs->pool_cap > 0; /* false once the pool outgrew ARTIST_POOL_MAX */
    const struct model *m = p->model;
    const uint64_t *bits = p->saved_artists.bits;
    const uint32_t bit_mask = p->saved_artists.bit_mask;
    const uint32_t nd = m->n_dims;
    uint32_t maybe[ARTIST_BLOCK];
    float gathered[ARTIST_BLOCK * MODEL_MAX_DIMS], gathered_norms[ARTIST_BLOCK];
    float score[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        const uint32_t *keys = m->artist_keys + first;
        uint32_t n_maybe = 0;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t key = keys[i];
            maybe[n_maybe] = first + i;
            n_maybe += (uint32_t)(bits[(key & bit_mask) >> 6] >> (key & 63u)) & 1u;
        }
        /* The cosines of the rows the filter let through: when they are few, those rows are
         * copied together so their cosines go four at a time; when they are many (a user whose
         * artists have much of the catalog), the whole block's are computed in place. The same
         * values either way: each row's arithmetic is its own. */
        const bool in_place = n_maybe * ARTIST_GATHER_MAX_SHARE > len;
        if (in_place) {
            cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, score);
        } else {
            for (uint32_t j = 0; j < n_maybe; j++) {
                memcpy(gathered + (size_t)j * nd, m->rows + (size_t)maybe[j] * nd,
                       nd * sizeof(float));
                gathered_norms[j] = m->row_norms[maybe[j]];
            }
            cosines(gathered, gathered_norms, u, inv_u, nd, n_maybe, score);
        }
        for (uint32_t j = 0; j < n_maybe; j++) {
            uint32_t row = maybe[j];
            float s = score[in_place ? row - first : j] + MEAN_ARTIST_BONUS;
            if (!pooling && n == keep && !(s > worst))
                continue;
            if (!saved_artists_has(&p->saved_artists, m->artist_keys[row]) ||
                !eligible_by_saved_artist(p, row))
                continue;
            if (pooling) {
                if (cs->n_pool == cs->pool_cap) {
                    uint32_t cap = cs->pool_cap * 2;
                    struct candidate *grown =
                        cap <= ARTIST_POOL_MAX ? realloc(cs->pool, cap * sizeof *grown) : NULL;
                    if (!grown) { /* too many (or no memory): the next pass scans again */
                        free(cs->pool);
                        cs->pool = NULL;
                        cs->n_pool = cs->pool_cap = 0;
                        pooling = false;
                    } else {
                        cs->pool = grown;
                        cs->pool_cap = cap;
                    }
                }
                if (pooling)
                    cs->pool[cs->n_pool++] = (struct candidate){s, row};
                if (n == keep && !(s > worst))
                    continue;
            }
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    cs->pooled = pooling;
    return n;
}

/* The same from the pool of an earlier pass in this phase (cs->pooled): the same rows, scores
 * and so the same candidates, without passing over the rows again. */
static uint32_t rank_artist_rows_pooled(const struct cluster_state *cs, struct candidate *heap,
                                        uint32_t keep)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cs->n_pool; i++)
        heap_push(heap, &n, keep, cs->pool[i]);
    return n;
}

/* artist index hook: the songs by saved artists in rows [start, end) from the state's pool
 * (artist_pool.h), scored once per phase from the model's artist index: the same candidates and
 * scores as rank_artist_rows_scanned, written into heap best first when in_order (nothing will
 * be added: rank_rows need not sort them), else as a heap (worst first). Returns RECO_OK,
 * RECO_ERR_TOO_LARGE (more songs than a pool holds: heap untouched, the caller passes over the
 * rows instead) or RECO_ERR_NOMEM. */
static bool accept_saved_artist_row(const void *ctx, uint32_t row)
{
    return eligible_by_saved_artist(ctx, row);
}

static enum reco_status rank_from_artist_index(const struct picking *p,
                                               const struct cluster_state *cs, uint32_t start,
                                               uint32_t end, const float *u, float inv_u,
                                               struct candidate *heap, uint32_t keep, bool in_order,
                                               uint32_t *n)
{
    struct artist_pool *pool = &p->artist_pools[cs->cluster];
    enum reco_status status = RECO_OK;
    if (!pool->filled)
        status = artist_pool_fill(pool, p->artist_index, p->saved_artists.list, p->saved_artists.n,
                                  start, end, u, inv_u, MEAN_ARTIST_BONUS,
                                  p->artist_index->max_pool_songs);
    const struct artist_candidate *best = NULL;
    if (status == RECO_OK)
        status = artist_pool_take(pool, keep, accept_saved_artist_row, p, &best, n);
    if (status != RECO_OK)
        return status;
    for (uint32_t i = 0; i < *n; i++) {
        uint32_t from = in_order ? i : *n - 1 - i;
        heap[i] = (struct candidate){best[from].score, best[from].row};
    }
    return RECO_OK;
}

/* RECO_RANK_MEAN_AND_ARTISTS in one loop over rows [start, end), for saved artists with much of
 * the catalog: every row's cosine (in blocks), then the artist test only for a row the bonus
 * could carry into the heap (once the heap holds only such songs, a row whose cosine plus the
 * bonus stays below its worst is passed over on its cosine alone); the filter bit from the
 * contiguous artist keys first, without a branch, and the exact test only for a row it lets
 * through. Fills heap (capacity keep, empty); returns how many it holds. */
static uint32_t rank_rows_with_artist_bonus(const struct picking *p, uint32_t start, uint32_t end,
                                            const float *u, float inv_u, struct candidate *heap,
                                            uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    const uint64_t *bits = p->saved_artists.bits;
    const uint32_t bit_mask = p->saved_artists.bit_mask;
    float block[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        const uint32_t *keys = m->artist_keys + first;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s + MEAN_ARTIST_BONUS > worst))
                continue;
            uint32_t key = keys[i];
            bool maybe = (bits[(key & bit_mask) >> 6] >> (key & 63u)) & 1u;
            if (n == keep && !maybe && !(s > worst))
                continue;
            if (maybe && saved_artists_has(&p->saved_artists, key))
                s += MEAN_ARTIST_BONUS;
            if ((n < keep || s > worst) && eligible(p, row)) {
                heap_push(heap, &n, keep, (struct candidate){s, row});
                worst = heap[0].score;
            }
        }
    }
    return n;
}

/* Rows [start, end) by cosine to u into a heap (capacity keep) that already holds n: the whole
 * of RECO_RANK_MEAN_COSINE, and for RECO_RANK_MEAN_AND_ARTISTS, with other_artists_only, the
 * rest after the songs by saved artists (fewer than keep, all ranked above these), which are
 * passed over here. Returns how many the heap holds. */
static uint32_t rank_by_cosine(const struct picking *p, uint32_t start, uint32_t end,
                               const float *u, float inv_u, struct candidate *heap, uint32_t n,
                               uint32_t keep, bool other_artists_only)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    float worst = n > 0 ? heap[0].score : 0.0f;
    float block[ARTIST_BLOCK];
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s > worst))
                continue;
            if (!eligible(p, row) || (other_artists_only && by_saved_artist(p, row)))
                continue;
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    return n;
}

static uint64_t label_hash(const char *label)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)label; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h ? h : 1;
}

static bool label_set_has(const struct label_set *set, uint64_t h)
{
    for (size_t i = (size_t)mix64(h) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == h)
            return true;
        if (set->slots[i] == 0)
            return false;
    }
}

/* The genre labels of every saved artist into p->labels, and p->affinity sized for the
 * catalog's artists, every entry not yet computed (NaN). Fails only for memory. */
static enum reco_status init_affinity(struct picking *p)
{
    const struct model *m = p->model;
    size_t n_labels = 0;
    for (uint32_t i = 0; i < p->saved_artists.n; i++)
        for (const char *g = model_artist_genres(m, p->saved_artists.list[i]); *g;
             g += strlen(g) + 1)
            n_labels++;
    size_t cap = capacity_for(n_labels);
    p->labels.slots = calloc(cap, sizeof *p->labels.slots);
    p->labels.mask = cap - 1;
    p->affinity = malloc(((size_t)m->n_artists + 1) * sizeof *p->affinity);
    if (!p->labels.slots || !p->affinity)
        return RECO_ERR_NOMEM;
    for (uint32_t a = 0; a < m->n_artists; a++)
        p->affinity[a] = NAN;
    for (uint32_t i = 0; i < p->saved_artists.n; i++)
        for (const char *g = model_artist_genres(m, p->saved_artists.list[i]); *g;
             g += strlen(g) + 1) {
            uint64_t h = label_hash(g);
            for (size_t s = (size_t)mix64(h) & p->labels.mask;; s = (s + 1) & p->labels.mask) {
                if (p->labels.slots[s] == h)
                    break;
                if (p->labels.slots[s] == 0) {
                    p->labels.slots[s] = h;
                    break;
                }
            }
        }
    return RECO_OK;
}

/* The share of an artist's genre labels that the saved artists have too (0 with none). */
static float artist_affinity(struct picking *p, uint32_t key)
{
    if (!isnan(p->affinity[key]))
        return p->affinity[key];
    uint32_t shared = 0, all = 0;
    for (const char *g = model_artist_genres(p->model, key); *g; g += strlen(g) + 1) {
        all++;
        shared += label_set_has(&p->labels, label_hash(g));
    }
    p->affinity[key] = all ? (float)shared / (float)all : 0.0f;
    return p->affinity[key];
}

/* The discovery ranking over rows [start, end): songs by artists the user has not saved, by
 * cosine to u plus DISCOVER_LABEL_BONUS times their artist's affinity. Returns how many the
 * heap (capacity keep, empty) holds. */
static uint32_t rank_discovery(struct picking *p, uint32_t start, uint32_t end, const float *u,
                               float inv_u, struct candidate *heap, uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    float block[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s + DISCOVER_LABEL_BONUS > worst))
                continue;
            if (!eligible(p, row))
                continue;
            s += DISCOVER_LABEL_BONUS * artist_affinity(p, m->artist_keys[row]);
            if (n == keep && !(s > worst))
                continue;
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    return n;
}

/* Scores rows [start, end) against the user's tracks in one pass and keeps the best `keep`
 * in cs->ranked, best first. Clusters without saved tracks (the fall-back) are scored against
 * the mean of everything the user saved. */
static enum reco_status rank_rows(struct picking *p, struct cluster_state *cs, uint32_t start,
                                  uint32_t end, uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims;
    if (keep > end - start)
        keep = end - start;
    struct candidate *heap = realloc(cs->ranked, (keep ? keep : 1) * sizeof *heap);
    if (!heap)
        return RECO_ERR_NOMEM;
    cs->ranked = heap;
    uint32_t n = 0;
    bool in_order = false; /* artist index hook: heap[0 .. n) is already best first */
    float *u = p->scratch, *w = p->scratch + nd, *anchors = p->scratch + 2 * nd;
    const bool flat = cs->cluster == m->k;
    enum reco_ranking ranking = cs->saved > 0 ? p->ranking : RECO_RANK_MEAN_COSINE;
    if (flat)
        /* The flat ranking: one pass over the whole catalog against the mean of everything
         * the user saved, with the saved artists first where the ranking has them. */
        ranking = ranking == RECO_RANK_VOTES_AND_ARTISTS || ranking == RECO_RANK_MEAN_AND_ARTISTS
                      ? RECO_RANK_MEAN_AND_ARTISTS
                      : RECO_RANK_MEAN_COSINE;
    if (flat && cs->saved == p->n_resolved && cs->first == 0)
        memcpy(u, p->global_mean, nd * sizeof *u); /* mean_of(p, 0, n_resolved): computed once */
    else if (cs->saved > 0)
        mean_of(p, cs->first, cs->saved, u);
    else
        memcpy(u, p->global_mean, nd * sizeof *u);
    if (p->window_scale > 0.0f) {
        /* Mood targets: the user's taste with each targeted feature at its target, so the
         * songs in the window come by how like the user's they are in everything else. */
        for (uint32_t t = 0; t < p->n_windows; t++)
            if (p->windows[t].dim < nd)
                u[p->windows[t].dim] = p->windows[t].scaled;
    }
    if (p->new_artists_only) {
        /* The discovery phase: songs by the saved artists passed over. */
        float un = norm_of(u, nd);
        n = rank_discovery(p, start, end, u, un > 0 ? 1.0f / un : 0.0f, heap, keep);
        goto sorted;
    }
    const float *centroid = m->centroids + (size_t)(flat ? 0 : cs->cluster) * nd;
    if (ranking == RECO_RANK_CENTROID_COSINE) {
        for (uint32_t d = 0; d < nd; d++)
            w[d] = u[d] - centroid[d];
        if (norm_of(w, nd) < 1e-6f)
            ranking = RECO_RANK_MEAN_COSINE; /* the user sits on the centroid: no direction */
    }
    uint32_t n_anchors = 0;
    if (ranking == RECO_RANK_NEAREST_NEIGHBOURS) {
        n_anchors = cs->saved < NN_MAX_ANCHORS ? cs->saved : NN_MAX_ANCHORS;
        for (uint32_t a = 0; a < n_anchors; a++) {
            const struct resolved *r =
                &p->resolved[cs->first + (uint32_t)(((uint64_t)a * cs->saved) / n_anchors)];
            for (uint32_t d = 0; d < nd; d++)
                anchors[(size_t)a * nd + d] = r->vec[d] * r->inv_norm;
        }
    }
    if (keep == 0)
        goto sorted;

    if (ranking == RECO_RANK_MEAN_COSINE ||
        (ranking == RECO_RANK_MEAN_AND_ARTISTS && p->saved_artists.n == 0)) {
        float un = norm_of(u, nd);
        float inv_u = un > 0 ? 1.0f / un : 0.0f;
        n = rank_by_cosine(p, start, end, u, inv_u, heap, 0, keep, false);
    } else if (ranking == RECO_RANK_MEAN_AND_ARTISTS) {
        /* Cosine to the mean, and a song by a saved artist scores MEAN_ARTIST_BONUS more: more
         * than a cosine's range, so every such song ranks above every other. So first the songs
         * by saved artists alone, then, only if there are fewer than keep of them, the best of
         * the others by cosine: the same candidates, so the same result, as scoring every row
         * with its bonus, and where the user's artists have keep songs in the cluster the
         * cosines of the others are never computed. The saved artists' songs come from the
         * model's artist index when they are few (see gather_artist_rows and
         * ARTIST_INDEX_COST), else from a pass over the cluster's contiguous artist keys; when
         * the saved artists have much of the catalog (ARTIST_DENSE_SHARE), one loop scores every
         * row with its bonus instead. */
        float un = norm_of(u, nd);
        float inv_u = un > 0 ? 1.0f / un : 0.0f;
        /* In the saved-artists phase only their songs are eligible: the filter pass, which
         * scores only the rows it lets through, is never more work than scoring every row. */
        if (p->artists_dense && !p->saved_artists_only) {
            n = rank_rows_with_artist_bonus(p, start, end, u, inv_u, heap, keep);
        } else {
            uint32_t a_first = 0, a_end = 0;
            if (p->artist_rows) {
                a_first = flat ? 0 : p->artist_rows_start[cs->cluster];
                a_end = p->artist_rows_start[flat ? m->k : cs->cluster + 1];
            }
            uint32_t indexed = p->artist_rows ? a_end - a_first : UINT32_MAX;
            /* artist index hook: the saved artists' songs from the model's index, unless they
             * are more than a pool holds (then as without the index) */
            enum reco_status from_index = RECO_ERR_TOO_LARGE;
            if (p->artist_index) {
                in_order = p->saved_artists_only;
                from_index =
                    rank_from_artist_index(p, cs, start, end, u, inv_u, heap, keep, in_order, &n);
                if (from_index == RECO_ERR_NOMEM)
                    return from_index;
                in_order = in_order && from_index == RECO_OK;
            }
            if (from_index == RECO_OK) {
                /* ranked from the index */
            } else if ((uint64_t)indexed * ARTIST_INDEX_COST < end - start) {
                n = rank_artist_rows_indexed(p, a_first, a_end, u, inv_u, heap, keep);
            } else if (cs->pooled) {
                n = rank_artist_rows_pooled(cs, heap, keep);
            } else {
                if (!cs->pool) {
                    cs->pool = malloc(ARTIST_BLOCK * sizeof *cs->pool);
                    cs->pool_cap = cs->pool ? ARTIST_BLOCK : 0;
                }
                n = rank_artist_rows_scanned(p, cs, start, end, u, inv_u, heap, keep);
            }
            /* In the saved-artists phase nothing else is eligible: no pass for the rest. */
            if (n < keep && !p->saved_artists_only)
                n = rank_by_cosine(p, start, end, u, inv_u, heap, n, keep, true);
        }
    } else if (ranking == RECO_RANK_CENTROID_COSINE) {
        float inv_w = 1.0f / norm_of(w, nd);
        for (uint32_t row = start; row < end; row++) {
            const float *v = m->rows + (size_t)row * nd;
            float along = 0, len2 = 0;
            for (uint32_t d = 0; d < nd; d++) {
                float diff = v[d] - centroid[d];
                along += diff * w[d];
                len2 += diff * diff;
            }
            float s = len2 > 0 ? along * inv_w / sqrtf(len2) : 0.0f;
            if ((n < keep || s > heap[0].score) && eligible(p, row))
                heap_push(heap, &n, keep, (struct candidate){s, row});
        }
    } else if (ranking == RECO_RANK_NEIGHBOUR_VOTES || ranking == RECO_RANK_VOTES_AND_ARTISTS) {
        enum reco_status st = rank_by_votes(p, cs, start, end, keep,
                                            ranking == RECO_RANK_VOTES_AND_ARTISTS, heap, &n);
        if (st != RECO_OK)
            return st;
    } else {
        for (uint32_t row = start; row < end; row++) {
            float rn = m->row_norms[row];
            const float *v = m->rows + (size_t)row * nd;
            float best = -2.0f;
            for (uint32_t a = 0; a < n_anchors; a++) {
                float s = dot(v, anchors + (size_t)a * nd, nd);
                if (s > best)
                    best = s;
            }
            float s = rn > 0 ? best / rn : 0.0f;
            if ((n < keep || s > heap[0].score) && eligible(p, row))
                heap_push(heap, &n, keep, (struct candidate){s, row});
        }
    }
sorted:
    if (!in_order)
        qsort(heap, n, sizeof *heap, by_rank);
    cs->n_ranked = n;
    cs->kept = keep;
    cs->cursor = 0;
    cs->complete = keep == end - start || n < keep; /* every eligible row is in */
    return RECO_OK;
}

/* The same-song and artist rules for one candidate; on success records the pick. */
static bool try_pick(struct picking *p, const struct candidate *c, uint32_t cluster)
{
    const struct model *m = p->model;
    if (!eligible(p, c->row) || row_set_has(&p->picked_rows, c->row))
        return false;
    uint32_t artist = model_row_artist_key(m, c->row);
    const struct artist_entry *seen = artist_map_get(&p->artists, artist, false);
    if (seen && seen->n_picks >= p->max_per_artist)
        return false;
    /* The same song (same primary artist, same normalised title) as a saved one or a pick. */
    uint32_t song = model_row_song_key(m, c->row);
    if (row_set_has(&p->saved_songs, song) || row_set_has(&p->picked_songs, song))
        return false;
    if (p->window_scale > 0.0f) {
        /* The picks' mean must stay near each target. */
        for (uint32_t t = 0; t < p->n_windows; t++) {
            const struct target_window *w = &p->windows[t];
            double mean =
                (w->sum + model_row_feature(m, c->row, w->feature)) / (double)(p->n_targeted + 1);
            if (!(fabs(mean - w->value) <= w->mean_tolerance * p->window_scale))
                return false;
        }
        for (uint32_t t = 0; t < p->n_windows; t++)
            p->windows[t].sum += model_row_feature(m, c->row, p->windows[t].feature);
        p->n_targeted++;
    }
    enum reco_reason reason = RECO_REASON_SIMILAR_SOUND;
    if (by_saved_artist(p, c->row))
        reason = RECO_REASON_SAME_ARTIST;
    else if (p->new_artists_only)
        reason = RECO_REASON_NEW_ARTIST;
    p->picks[p->n_picks++] =
        (struct reco_pick){.row = c->row,
                           .score = c->score,
                           .cluster = cluster == m->k ? cluster_of_row(m, c->row) : cluster,
                           .reason = reason};
    /* An artist enters the map only with a pick, so it never holds more than want entries and
     * its probes always end (it is sized for want). */
    artist_map_get(&p->artists, artist, true)->n_picks++;
    row_set_add(&p->picked_rows, c->row);
    row_set_add(&p->picked_songs, song);
    return true;
}

static bool skipped_by_variety(const struct picking *p, const struct cluster_state *cs,
                               uint32_t row)
{
    if (p->variety == 0 || cs->round > 0)
        return false;
    return mix64(p->variety ^ ((uint64_t)row * 0x9e3779b97f4a7c15ull)) % VARIETY_KEEP != 0;
}

/* The rows a state ranks: its cluster's, or for the flat ranking (cluster k) every row. */
static void state_rows(const struct model *m, const struct cluster_state *cs, uint32_t *start,
                       uint32_t *end)
{
    *start = cs->cluster == m->k ? 0 : m->cluster_start[cs->cluster];
    *end = cs->cluster == m->k ? m->n_rows : m->cluster_start[cs->cluster + 1];
}

/* Takes picks from one cluster until it has its slots or runs out of rows. */
static enum reco_status fill(struct picking *p, struct cluster_state *cs)
{
    uint32_t start, end;
    state_rows(p->model, cs, &start, &end);
    while (cs->got < cs->slots && p->n_picks < p->limit) {
        if (cs->ranked == NULL || cs->cursor == cs->n_ranked) {
            if (cs->ranked && cs->complete) {
                if (p->variety != 0 && cs->round == 0) {
                    cs->round = 1;
                    cs->cursor = 0;
                    continue;
                }
                cs->exhausted = true;
                break;
            }
            uint32_t keep =
                cs->ranked ? cs->kept * 4
                           : cs->slots * CANDIDATES_PER_SLOT * (p->variety ? VARIETY_KEEP : 1u) +
                                 CANDIDATE_MARGIN;
            enum reco_status st = rank_rows(p, cs, start, end, keep);
            if (st != RECO_OK)
                return st;
            continue;
        }
        const struct candidate *c = &cs->ranked[cs->cursor++];
        if (skipped_by_variety(p, cs, c->row))
            continue;
        if (try_pick(p, c, cs->cluster))
            cs->got++;
    }
    return RECO_OK;
}

/* Squared distance between two centroids over dimensions [from, to). */
static float centroid_distance2(const struct model *m, uint32_t a, uint32_t b, uint32_t from,
                                uint32_t to)
{
    const float *x = m->centroids + (size_t)a * m->n_dims,
                *y = m->centroids + (size_t)b * m->n_dims;
    float sum = 0;
    for (uint32_t d = from; d < to; d++)
        sum += (x[d] - y[d]) * (x[d] - y[d]);
    return sum;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* The weights the slots are shared by (k + 1 entries, the last the flat ranking's). The
 * clusters holding at least STYLE_MIN_SHARE_PERCENT of the placed tracks are the candidates for
 * styles; two of them are one style when their centroids are closer than STYLE_LINK_PERCENT of
 * the median distance between the model's centroids (measured on the genre dimensions when the
 * model has them: clusters of one genre that differ in sound are still one style). A library
 * whose candidates all join into one style is one style, ranked flat; otherwise each candidate
 * gets its count and the flat ranking the counts of the rest. Fails only for memory. */
static enum reco_status style_weights(const struct model *m, const uint32_t *counts,
                                      uint32_t n_resolved, uint32_t *weight)
{
    const uint32_t k = m->k;
    uint32_t n_styles = 0;
    for (uint32_t c = 0; c < k; c++)
        n_styles += (uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT;
    memset(weight, 0, (k + 1) * sizeof *weight);
    bool several = false;
    if (n_styles >= 2) {
        const uint32_t from =
            m->n_dims - m->n_genre_dims < m->n_dims ? m->n_dims - m->n_genre_dims : 0;
        /* The median distance between centroids, over at most STYLE_SAMPLE of them. */
        const uint32_t sample = k < STYLE_SAMPLE ? k : STYLE_SAMPLE;
        float *d2 = malloc(((size_t)sample * sample / 2 + 1) * sizeof *d2);
        uint32_t *style = malloc((n_styles + 1) * sizeof *style);
        uint32_t *parent = malloc((n_styles + 1) * sizeof *parent);
        if (!d2 || !style || !parent) {
            free(d2);
            free(style);
            free(parent);
            return RECO_ERR_NOMEM;
        }
        size_t n_d2 = 0;
        for (uint32_t i = 0; i < sample; i++)
            for (uint32_t j = i + 1; j < sample; j++)
                d2[n_d2++] = centroid_distance2(m, i * k / sample, j * k / sample, from, m->n_dims);
        qsort(d2, n_d2, sizeof *d2, by_float);
        float median = n_d2 ? d2[n_d2 / 2] : 0.0f;
        float link = median * (STYLE_LINK_PERCENT / 100.0f) * (STYLE_LINK_PERCENT / 100.0f);
        uint32_t n = 0;
        for (uint32_t c = 0; c < k; c++)
            if ((uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT) {
                style[n] = c;
                parent[n] = n;
                n++;
            }
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = i + 1; j < n; j++)
                if (centroid_distance2(m, style[i], style[j], from, m->n_dims) < link)
                    parent[find_root(parent, i)] = find_root(parent, j);
        for (uint32_t i = 1; i < n; i++)
            several |= find_root(parent, i) != find_root(parent, 0);
        free(d2);
        free(style);
        free(parent);
    }
    for (uint32_t c = 0; c < k; c++) {
        bool is_style =
            several && (uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT;
        weight[is_style ? c : k] += counts[c];
    }
    return RECO_OK;
}

/* One phase of picking: `slots` more picks shared across the styles and the flat ranking by
 * weight (k + 1 entries, see style_weights); a state that runs out hands its leftover to the
 * others still open in proportion, and the flat ranking takes what none of them can give. Every
 * state starts afresh (the phase's rules may differ from the last one's). */
static enum reco_status run_phase(struct picking *p, struct cluster_state *states,
                                  const uint32_t *weights, uint32_t slots)
{
    const uint32_t k = p->model->k;
    uint32_t *weight = malloc((k + 1) * sizeof *weight);
    uint32_t *alloc = malloc((k + 1) * sizeof *alloc);
    enum reco_status status = RECO_ERR_NOMEM;
    if (!weight || !alloc)
        goto done;
    memcpy(weight, weights, (k + 1) * sizeof *weight);
    for (uint32_t c = 0; c <= k; c++) {
        struct cluster_state *cs = &states[c];
        free(cs->ranked);
        cs->ranked = NULL;
        free(cs->pool);
        cs->pool = NULL;
        cs->n_pool = cs->pool_cap = 0;
        cs->pooled = false;
        cs->slots = cs->got = cs->n_ranked = cs->cursor = cs->kept = 0;
        cs->exhausted = cs->complete = false;
        cs->round = 0;
        if (p->artist_pools)
            artist_pool_reset(&p->artist_pools[c]); /* artist index hook */
    }
    p->limit = p->n_picks + slots < p->want ? p->n_picks + slots : p->want;
    reco_apportion(weight, k + 1, p->limit - p->n_picks, alloc);
    for (uint32_t c = 0; c <= k; c++)
        states[c].slots = alloc[c];
    status = RECO_OK;
    while (p->n_picks < p->limit) {
        for (uint32_t c = 0; c <= k; c++) {
            if (states[c].slots == states[c].got || states[c].exhausted)
                continue;
            status = fill(p, &states[c]);
            if (status != RECO_OK)
                goto done;
        }
        uint32_t leftover = 0;
        bool any_open = false;
        for (uint32_t c = 0; c <= k; c++) {
            if (states[c].exhausted) {
                leftover += states[c].slots - states[c].got;
                states[c].slots = states[c].got;
                weight[c] = 0;
            } else if (weight[c] > 0) {
                any_open = true;
            }
        }
        if (leftover == 0 || p->n_picks >= p->limit)
            break;
        if (!any_open) {
            if (states[k].exhausted)
                break; /* the whole catalog has nothing more within the rules */
            weight[k] = 1;
        }
        reco_apportion(weight, k + 1, leftover, alloc);
        for (uint32_t c = 0; c <= k; c++)
            states[c].slots += alloc[c];
    }
done:
    free(weight);
    free(alloc);
    return status;
}

/* Every phase of a playlist: the familiar picks (saved artists first where the ranking has
 * them), then the discovery picks (new artists only, round(discover * n) of them, and what the
 * familiar phase could not give), then, when mood targets left the playlist short, the same
 * with the target windows widened, and at last without them. */
static enum reco_status run_phases(struct picking *p, struct cluster_state *states,
                                   const uint32_t *weights)
{
    const uint32_t n_new = (uint32_t)lroundf(p->discover * (float)p->want);
    static const float scales[] = {1.0f, 2.0f, 4.0f, 0.0f};
    enum reco_status status = RECO_OK;
    for (uint32_t step = 0; step <= TARGET_RELAX_STEPS + 1; step++) {
        p->window_scale = p->n_windows ? scales[step] : 0.0f;
        p->restricted = p->year_from || p->year_to || p->no_explicit || p->window_scale > 0.0f;
        uint32_t missing = p->want - p->n_picks;
        uint32_t familiar = missing > n_new ? missing - n_new : 0;
        if (step > 0 && p->discover > 0.0f)
            familiar = (uint32_t)lroundf((1.0f - p->discover) * (float)missing);
        if (familiar > 0 && p->artists_first && p->saved_artists.n > 0) {
            /* Songs by saved artists first, shared across the styles, a style short of them
             * handing its slots to the others that have them. */
            bool restricted = p->restricted;
            p->saved_artists_only = true;
            p->restricted = true;
            uint32_t before = p->n_picks;
            status = run_phase(p, states, weights, familiar);
            p->saved_artists_only = false;
            p->restricted = restricted;
            if (status != RECO_OK)
                return status;
            familiar -= p->n_picks - before;
        }
        if (familiar > 0) {
            p->new_artists_only = false;
            status = run_phase(p, states, weights, familiar);
            if (status != RECO_OK)
                return status;
        }
        if (p->n_picks < p->want && p->discover > 0.0f) {
            p->new_artists_only = true;
            p->restricted = true;
            status = run_phase(p, states, weights, p->want - p->n_picks);
            p->new_artists_only = false;
            if (status != RECO_OK)
                return status;
        }
        if (p->n_picks >= p->want || p->n_windows == 0)
            break;
    }
    p->restricted = p->year_from || p->year_to || p->no_explicit;
    p->window_scale = 0.0f;
    return status;
}

/* Each pick's closest saved track (cosine) among those in its cluster, or among all. */
static void explain(struct picking *p, const struct cluster_state *states)
{
    const struct model *m = p->model;
    for (uint32_t i = 0; i < p->n_picks; i++) {
        struct reco_pick *pick = &p->picks[i];
        const struct cluster_state *cs = &states[pick->cluster];
        uint32_t first = cs->saved ? cs->first : 0;
        uint32_t count = cs->saved ? cs->saved : p->n_resolved;
        const float *v = m->rows + (size_t)pick->row * p->n_dims;
        float best = -3.0f;
        int32_t because = -1;
        for (uint32_t j = first; j < first + count; j++) {
            float s = dot(v, p->resolved[j].vec, p->n_dims) * p->resolved[j].inv_norm;
            if (s > best) {
                best = s;
                because = (int32_t)p->resolved[j].index;
            }
        }
        pick->because = because;
    }
}

/* Playlist order: each cluster's picks by score, spread evenly through the list. */
struct placed {
    double position;
    uint32_t cluster_size;
    struct reco_pick pick;
};

static int by_cluster_then_rank(const void *a, const void *b)
{
    const struct reco_pick *x = a, *y = b;
    if (x->cluster != y->cluster)
        return x->cluster < y->cluster ? -1 : 1;
    struct candidate cx = {x->score, x->row}, cy = {y->score, y->row};
    return by_rank(&cx, &cy);
}

static int by_position(const void *a, const void *b)
{
    const struct placed *x = a, *y = b;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    if (x->cluster_size != y->cluster_size)
        return x->cluster_size > y->cluster_size ? -1 : 1;
    return x->pick.cluster < y->pick.cluster ? -1 : (x->pick.cluster > y->pick.cluster);
}

static enum reco_status interleave(struct picking *p)
{
    qsort(p->picks, p->n_picks, sizeof *p->picks, by_cluster_then_rank);
    struct placed *placed = malloc((p->n_picks + 1) * sizeof *placed);
    if (!placed)
        return RECO_ERR_NOMEM;
    for (uint32_t i = 0; i < p->n_picks;) {
        uint32_t j = i;
        while (j < p->n_picks && p->picks[j].cluster == p->picks[i].cluster)
            j++;
        for (uint32_t t = i; t < j; t++)
            placed[t] = (struct placed){.position = ((double)(t - i) + 0.5) / (double)(j - i),
                                        .cluster_size = j - i,
                                        .pick = p->picks[t]};
        i = j;
    }
    qsort(placed, p->n_picks, sizeof *placed, by_position);
    for (uint32_t i = 0; i < p->n_picks; i++)
        p->picks[i] = placed[i].pick;
    free(placed);
    return RECO_OK;
}

/* The mood targets as windows on the model's raw features; a target on a feature the model
 * lacks is refused, naming it. */
static enum reco_status set_targets(struct picking *p, const struct reco_options *o, char *err,
                                    size_t err_len)
{
    const struct {
        const char *name;
        const struct reco_target *target;
        enum model_feature feature;
        float half, mean;
    } targets[] = {
        {"energy", &o->energy, FEAT_ENERGY, TARGET_WINDOW, TARGET_MEAN},
        {"valence", &o->valence, FEAT_VALENCE, TARGET_WINDOW, TARGET_MEAN},
        {"danceability", &o->danceability, FEAT_DANCEABILITY, TARGET_WINDOW, TARGET_MEAN},
        {"tempo", &o->tempo, FEAT_TEMPO, TARGET_WINDOW_TEMPO, TARGET_MEAN_TEMPO}};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        if (!targets[t].target->set)
            continue;
        bool known = false;
        for (uint32_t f = 0; f < p->model->n_features; f++)
            known |= p->model->features[f] == targets[t].feature;
        if (!known) {
            errbuf_set(err, err_len, "target.%s: the model has no %s feature", targets[t].name,
                       targets[t].name);
            return RECO_ERR_INVALID;
        }
        p->windows[p->n_windows++] = (struct target_window){
            .feature = targets[t].feature,
            .value = targets[t].target->value,
            .half = targets[t].half,
            .mean_tolerance = targets[t].mean,
            .dim = p->model->n_dims,
        };
        /* Where the target sits in the scaled space: the one dimension a raw value with only
         * this feature known moves away from the catalog mean (0). */
        struct model_raw raw = {.present = 1u << targets[t].feature};
        raw.value[targets[t].feature] = targets[t].target->value;
        float scaled[MODEL_MAX_DIMS];
        model_transform(p->model, &raw, scaled);
        struct target_window *w = &p->windows[p->n_windows - 1];
        for (uint32_t d = 0; d < p->model->n_dims; d++)
            if (scaled[d] != 0.0f && w->dim == p->model->n_dims) {
                w->dim = d;
                w->scaled = scaled[d];
            }
    }
    return RECO_OK;
}

/* Why a playlist is short, in words for a person (struct reco_result short_reason). */
static void say_short(const struct picking *p, char *out, size_t len)
{
    char rules[128] = "";
    size_t at = 0;
    if (p->year_from || p->year_to)
        at += (size_t)snprintf(rules + at, sizeof rules - at, " from %u-%u",
                               p->year_from ? p->year_from : RECO_MIN_YEAR,
                               p->year_to ? p->year_to : RECO_MAX_YEAR);
    if (p->no_explicit && at < sizeof rules)
        at += (size_t)snprintf(rules + at, sizeof rules - at, " without explicit lyrics");
    if (p->discover >= 1.0f && at < sizeof rules)
        snprintf(rules + at, sizeof rules - at, " by artists you have not saved");
    snprintf(out, len, "only %u songs%s that you have not saved are in the catalog", p->n_picks,
             rules);
}

enum reco_status recommend(const struct model *model, const struct reco_saved *saved,
                           size_t n_saved, const struct reco_options *options,
                           struct reco_result *out, char *err, size_t err_len)
{
    return recommend_indexed(model, NULL, saved, n_saved, options, out, err, err_len);
}

enum reco_status recommend_indexed(const struct model *model, const struct reco_artist_index *index,
                                   const struct reco_saved *saved, size_t n_saved,
                                   const struct reco_options *options, struct reco_result *out,
                                   char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (index && index->model != model) { /* artist index hook */
        errbuf_set(err, err_len, "index: built for another model");
        return RECO_ERR_INVALID;
    }
    enum reco_status status = validate(model, saved, n_saved, options, err, err_len);
    if (status != RECO_OK)
        return status;
    const uint32_t k = model->k, nd = model->n_dims;
    struct picking p = {
        .model = model,
        .saved = saved,
        .n_dims = nd,
        .ranking = options->ranking == RECO_RANK_DEFAULT ? RECO_DEFAULT_RANKING : options->ranking,
        .variety = options->variety,
        .max_per_artist =
            options->max_per_artist ? options->max_per_artist : RECO_DEFAULT_MAX_PER_ARTIST,
        .want = options->n ? options->n : RECO_DEFAULT_N,
        .discover = options->discover,
        .year_from = options->year_from,
        .year_to = options->year_to,
        .no_explicit = options->no_explicit,
        .artist_index = index, /* artist index hook */
    };
    struct cluster_state *states = NULL;
    uint32_t *counts = NULL, *weights = NULL;
    status = set_targets(&p, options, err, err_len);
    if (status != RECO_OK)
        return status;
    status = RECO_ERR_NOMEM;
    struct reco_stats stats = {0};
    counts = calloc(k, sizeof *counts);
    weights = calloc(k + 1, sizeof *weights);
    states = calloc(k + 1, sizeof *states);
    p.resolved = malloc(n_saved * sizeof *p.resolved);
    p.feature_vecs = malloc(n_saved * nd * sizeof *p.feature_vecs);
    p.global_mean = calloc(nd, sizeof *p.global_mean);
    p.scratch = malloc((2 + NN_MAX_ANCHORS) * nd * sizeof *p.scratch);
    p.saved_rows = malloc(2 * n_saved * sizeof *p.saved_rows);
    p.artist_only_keys = malloc(n_saved * sizeof *p.artist_only_keys);
    p.picks = malloc(p.want * sizeof *p.picks);
    if (!counts || !weights || !states || !p.resolved || !p.feature_vecs || !p.global_mean ||
        !p.scratch || !p.saved_rows || !p.artist_only_keys || !p.picks ||
        !row_set_init(&p.excluded, 2 * n_saved) || !row_set_init(&p.saved_songs, 2 * n_saved) ||
        !row_set_init(&p.picked_rows, p.want) || !row_set_init(&p.picked_songs, p.want) ||
        !artist_map_init(&p.artists, p.want)) {
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    if (index) { /* artist index hook */
        p.artist_pools = calloc(k + 1, sizeof *p.artist_pools);
        if (!p.artist_pools) {
            errbuf_set(err, err_len, "out of memory");
            goto done;
        }
    }

    status = resolve_all(&p, n_saved, &stats, counts);
    if (status != RECO_OK) {
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    if (!saved_artists_init(&p.saved_artists, p.n_saved_rows + p.n_artist_only)) {
        status = RECO_ERR_NOMEM;
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < p.n_saved_rows; i++)
        saved_artists_add(&p.saved_artists, model_row_artist_key(model, p.saved_rows[i]));
    for (uint32_t i = 0; i < p.n_artist_only; i++)
        saved_artists_add(&p.saved_artists, p.artist_only_keys[i]);
    if (p.ranking == RECO_RANK_MEAN_AND_ARTISTS || p.ranking == RECO_RANK_VOTES_AND_ARTISTS ||
        p.ranking == RECO_RANK_FLAT) {
        if (p.saved_artists.n > 0 && gather_artist_rows(&p, n_saved) != RECO_OK) {
            status = RECO_ERR_NOMEM;
            errbuf_set(err, err_len, "out of memory");
            goto done;
        }
    }
    if (p.n_resolved == 0) {
        errbuf_set(err, err_len,
                   "saved: none of the %zu saved tracks matched the catalog by id, ISRC, title and "
                   "artist, primary artist, or audio features",
                   n_saved);
        status = RECO_ERR_NO_MATCH;
        goto done;
    }
    mean_of(&p, 0, p.n_resolved, p.global_mean);

    uint32_t first = 0;
    for (uint32_t c = 0; c <= k; c++) {
        states[c].cluster = c;
        states[c].saved = c < k ? counts[c] : p.n_resolved;
        states[c].first = c < k ? first : 0;
        if (c < k)
            first += counts[c];
    }

    /* Step 3: share the slots across the library's styles and the flat ranking. */
    if (p.ranking == RECO_RANK_FLAT) {
        p.ranking = RECO_RANK_MEAN_AND_ARTISTS;
        memset(weights, 0, k * sizeof *weights);
        weights[k] = 1;
    } else if (p.ranking == RECO_RANK_MEAN_AND_ARTISTS) {
        p.artists_first = true;
        status = style_weights(model, counts, p.n_resolved, weights);
        if (status != RECO_OK) {
            errbuf_set(err, err_len, "out of memory");
            goto done;
        }
    } else {
        /* The other rankings are the evaluation's per-cluster variants: every cluster with
         * saved tracks its own share, the flat ranking only for what they cannot give. */
        memcpy(weights, counts, k * sizeof *weights);
        weights[k] = 0;
    }
    if (p.discover > 0.0f && init_affinity(&p) != RECO_OK) {
        status = RECO_ERR_NOMEM;
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    status = run_phases(&p, states, weights);
    if (status != RECO_OK) {
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }

    /* Steps 5 and 6: interleave, and say which saved track each pick is closest to. */
    explain(&p, states);
    status = interleave(&p);
    if (status != RECO_OK) {
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    uint32_t *picked = weights; /* reused: picks per cluster */
    memset(picked, 0, (k + 1) * sizeof *picked);
    for (uint32_t i = 0; i < p.n_picks; i++)
        picked[p.picks[i].cluster]++;
    uint32_t n_shares = 0;
    for (uint32_t c = 0; c < k; c++)
        n_shares += counts[c] > 0 || picked[c] > 0;
    struct reco_cluster_share *shares = malloc((n_shares + 1) * sizeof *shares);
    if (!shares) {
        status = RECO_ERR_NOMEM;
        errbuf_set(err, err_len, "out of memory");
        goto done;
    }
    n_shares = 0;
    for (uint32_t c = 0; c < k; c++)
        if (counts[c] > 0 || picked[c] > 0)
            shares[n_shares++] = (struct reco_cluster_share){
                .cluster = c,
                .saved = counts[c],
                .slots = picked[c],
                .library_share = (float)counts[c] / (float)p.n_resolved,
                .playlist_share = p.n_picks ? (float)picked[c] / (float)p.n_picks : 0.0f,
            };
    if (p.n_picks < p.want)
        say_short(&p, out->short_reason, sizeof out->short_reason);
    out->picks = p.picks;
    out->n_picks = p.n_picks;
    p.picks = NULL;
    out->clusters = shares;
    out->n_clusters = n_shares;
    out->stats = stats;
    status = RECO_OK;
done:
    if (status != RECO_OK)
        memset(out, 0, sizeof *out);
    if (states)
        for (uint32_t c = 0; c <= k; c++) {
            free(states[c].ranked);
            free(states[c].pool);
        }
    if (p.artist_pools) /* artist index hook */
        for (uint32_t c = 0; c <= k; c++)
            artist_pool_free(&p.artist_pools[c]);
    free(p.artist_pools);
    free(states);
    free(counts);
    free(weights);
    free(p.resolved);
    free(p.feature_vecs);
    free(p.global_mean);
    free(p.scratch);
    free(p.saved_rows);
    free(p.artist_only_keys);
    free(p.affinity);
    free(p.labels.slots);
    free(p.picks);
    free(p.excluded.slots);
    free(p.picked_rows.slots);
    free(p.saved_songs.slots);
    free(p.picked_songs.slots);
    free(p.artists.slots);
    free(p.saved_artists.bits);
    free(p.saved_artists.list);
    free(p.artist_rows);
    free(p.artist_rows_start);
    free(p.saved_artists.keys.slots);
    return status;
}

void reco_result_free(struct reco_result *result)
{
    if (!result)
        return;
    free(result->picks);
    free(result->clusters);
    memset(result, 0, sizeof *result);
}

/* The recommendation's entry (recommend.h): checks the request, then runs the steps in turn:
 * resolve saved tracks (resolve.c), decide whether the library is one style (ranked flat over the
 * catalog) or several (slots shared across its clusters, the thin rest through the flat ranking;
 * allocate.c), pick in phases (pick.c, ranking with rank.c, filtering with steer.c) and
 * interleave (order.c). Every array of the request comes from one arena (arena.h) freed at the
 * end, but the result, which the caller frees with reco_result_free. Per-request memory grows
 * with the saved tracks and the playlist; it reaches the size of a cluster only when a cluster
 * runs out of candidates and is ranked again with four times as many (the flat ranking's: the
 * catalog), and an array per catalog artist only with `discover`. */
#include "recommend.h"

#include "artist_index.h" /* artist index hook */
#include "artist_pool.h"
#include "errbuf.h"
#include "picking.h"
#include "rank.h"
#include "score.h"
#include "steer.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The ranking RECO_RANK_DEFAULT stands for: set from the quality evaluation's results
 * (tests/quality): mean + artists meets every quality target at a tenth of the cost of
 * votes + artists; the service README says why. */
#define RECO_DEFAULT_RANKING RECO_RANK_MEAN_AND_ARTISTS

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

/* The first chunk of a request's arena: what picking_alloc and resolve_all take, and a margin
 * for the rankings' heaps, so most requests live in one chunk. */
static size_t first_chunk(const struct model *m, size_t n_saved, uint32_t want)
{
    const size_t k = m->k, nd = m->n_dims;
    return n_saved * (160 + 4 * nd) + (k + 1) * (sizeof(struct cluster_state) + 96) +
           (size_t)want * 96 + nd * 4 * (NN_MAX_ANCHORS + 8) + 64 * 1024;
}

/* The request's arrays and sets, from p->arena (p->picks from malloc: it becomes the result's).
 * Fails only for memory. */
static enum reco_status picking_alloc(struct picking *p, size_t n_saved,
                                      struct cluster_state **states, uint32_t **counts,
                                      uint32_t **weights)
{
    const uint32_t k = p->model->k, nd = p->n_dims;
    struct reco_arena *a = &p->arena;
    *counts = reco_arena_calloc(a, k, sizeof **counts);
    *weights = reco_arena_calloc(a, k + 1, sizeof **weights);
    *states = reco_arena_calloc(a, k + 1, sizeof **states);
    p->resolved = reco_arena_alloc(a, n_saved, sizeof *p->resolved);
    p->feature_vecs = reco_arena_alloc(a, n_saved * nd, sizeof *p->feature_vecs);
    p->global_mean = reco_arena_calloc(a, nd, sizeof *p->global_mean);
    p->scratch = reco_arena_alloc(a, (2 + NN_MAX_ANCHORS) * nd, sizeof *p->scratch);
    p->saved_rows = reco_arena_alloc(a, 2 * n_saved, sizeof *p->saved_rows);
    p->artist_only_keys = reco_arena_alloc(a, n_saved, sizeof *p->artist_only_keys);
    p->picks = malloc(p->want * sizeof *p->picks);
    if (!*counts || !*weights || !*states || !p->resolved || !p->feature_vecs || !p->global_mean ||
        !p->scratch || !p->saved_rows || !p->artist_only_keys || !p->picks ||
        !row_set_init(&p->excluded, a, 2 * n_saved) ||
        !row_set_init(&p->saved_songs, a, 2 * n_saved) ||
        !row_set_init(&p->picked_rows, a, p->want) || !row_set_init(&p->picked_songs, a, p->want) ||
        !artist_map_init(&p->artists, a, p->want))
        return RECO_ERR_NOMEM;
    return RECO_OK;
}

/* The primary artists of the saved songs and of the artist-only matches into
 * p->saved_artists, and for the rankings that put them first their songs from the artist index
 * (gather_artist_rows). Fails only for memory. */
static enum reco_status note_saved_artists(struct picking *p, size_t n_saved)
{
    if (!saved_artists_init(&p->saved_artists, &p->arena, p->n_saved_rows + p->n_artist_only))
        return RECO_ERR_NOMEM;
    for (uint32_t i = 0; i < p->n_saved_rows; i++)
        saved_artists_add(&p->saved_artists, model_row_artist_key(p->model, p->saved_rows[i]));
    for (uint32_t i = 0; i < p->n_artist_only; i++)
        saved_artists_add(&p->saved_artists, p->artist_only_keys[i]);
    if (p->ranking == RECO_RANK_MEAN_AND_ARTISTS || p->ranking == RECO_RANK_VOTES_AND_ARTISTS ||
        p->ranking == RECO_RANK_FLAT) {
        if (p->saved_artists.n > 0 && gather_artist_rows(p, n_saved) != RECO_OK)
            return RECO_ERR_NOMEM;
    }
    return RECO_OK;
}

/* Step 3: the states (k clusters and the flat ranking) and the weights the slots are shared by
 * across the library's styles and the flat ranking. Fails only for memory. */
static enum reco_status share_slots(struct picking *p, const uint32_t *counts,
                                    struct cluster_state *states, uint32_t *weights)
{
    const uint32_t k = p->model->k;
    uint32_t first = 0;
    for (uint32_t c = 0; c <= k; c++) {
        states[c].cluster = c;
        states[c].saved = c < k ? counts[c] : p->n_resolved;
        states[c].first = c < k ? first : 0;
        if (c < k)
            first += counts[c];
    }
    if (p->ranking == RECO_RANK_FLAT) {
        p->ranking = RECO_RANK_MEAN_AND_ARTISTS;
        memset(weights, 0, k * sizeof *weights);
        weights[k] = 1;
    } else if (p->ranking == RECO_RANK_MEAN_AND_ARTISTS) {
        p->artists_first = true;
        return style_weights(&p->arena, p->model, counts, p->n_resolved, weights, &p->related2);
    } else {
        /* The other rankings are the evaluation's per-cluster variants: every cluster with
         * saved tracks its own share, the flat ranking only for what they cannot give. */
        memcpy(weights, counts, k * sizeof *weights);
        weights[k] = 0;
    }
    return RECO_OK;
}

/* The answer from the picks (moved into out: p->picks is NULL afterwards): the styles' shares
 * of the library and of the playlist, the statistics and why the playlist is short. weights is
 * reused. Fails only for memory. */
static enum reco_status take_result(struct picking *p, const uint32_t *counts, uint32_t *weights,
                                    const bool *ran_out, const struct reco_stats *stats,
                                    struct reco_result *out)
{
    const uint32_t k = p->model->k;
    uint32_t *picked = weights; /* reused: picks per cluster */
    memset(picked, 0, (k + 1) * sizeof *picked);
    for (uint32_t i = 0; i < p->n_picks; i++)
        picked[p->picks[i].cluster]++;
    uint32_t n_shares = 0;
    for (uint32_t c = 0; c < k; c++)
        n_shares += counts[c] > 0 || picked[c] > 0;
    struct reco_cluster_share *shares = malloc((n_shares + 1) * sizeof *shares);
    if (!shares)
        return RECO_ERR_NOMEM;
    n_shares = 0;
    for (uint32_t c = 0; c < k; c++)
        if (counts[c] > 0 || picked[c] > 0)
            shares[n_shares++] = (struct reco_cluster_share){
                .cluster = c,
                .saved = counts[c],
                .slots = picked[c],
                .library_share = (float)counts[c] / (float)p->n_resolved,
                .playlist_share = p->n_picks ? (float)picked[c] / (float)p->n_picks : 0.0f,
                .exhausted = ran_out[c],
            };
    if (p->n_picks < p->want)
        say_short(p, out->short_reason, sizeof out->short_reason);
    out->picks = p->picks;
    out->n_picks = p->n_picks;
    p->picks = NULL;
    out->clusters = shares;
    out->n_clusters = n_shares;
    out->stats = *stats;
    return RECO_OK;
}

enum reco_status recommend(const struct model *model, const struct reco_saved *saved,
                           size_t n_saved, const struct reco_options *options,
                           struct reco_result *out, char *err, size_t err_len)
{
    return recommend_indexed(model, NULL, saved, n_saved, options, out, err, err_len);
}

/* Every request's memory but the result comes from one arena, freed at the end (arena.h). */
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
    struct picking p = {
        .model = model,
        .saved = saved,
        .n_dims = model->n_dims,
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
    status = set_targets(&p, options, err, err_len);
    if (status != RECO_OK)
        return status;
    reco_arena_init(&p.arena, first_chunk(model, n_saved, p.want));
    struct cluster_state *states = NULL;
    uint32_t *counts = NULL, *weights = NULL;
    struct reco_stats stats = {0};
    status = picking_alloc(&p, n_saved, &states, &counts, &weights);
    if (status == RECO_OK && index) { /* artist index hook */
        p.artist_pools = reco_arena_calloc(&p.arena, (size_t)model->k + 1, sizeof *p.artist_pools);
        if (!p.artist_pools)
            status = RECO_ERR_NOMEM;
    }
    if (status == RECO_OK)
        status = resolve_all(&p, n_saved, &stats, counts);
    if (status == RECO_OK)
        status = note_saved_artists(&p, n_saved);
    if (status != RECO_OK)
        goto done;
    if (p.n_resolved == 0) {
        errbuf_set(err, err_len,
                   "saved: none of the %zu saved tracks matched the catalog by id, ISRC, title and "
                   "artist, primary artist, or audio features",
                   n_saved);
        status = RECO_ERR_NO_MATCH;
        goto done;
    }
    mean_of(&p, 0, p.n_resolved, p.global_mean);
    status = share_slots(&p, counts, states, weights);
    if (status == RECO_OK && p.discover > 0.0f)
        status = init_affinity(&p);
    if (status == RECO_OK)
        status = run_phases(&p, states, weights);
    bool *ran_out =
        status == RECO_OK ? reco_arena_alloc(&p.arena, model->k, sizeof *ran_out) : NULL;
    if (status == RECO_OK)
        status = ran_out ? styles_ran_out(&p, weights, ran_out) : RECO_ERR_NOMEM;
    if (status != RECO_OK)
        goto done;
    /* Steps 5 and 6: interleave, and say which saved track each pick is closest to. */
    explain(&p, states);
    status = interleave(&p);
    if (status == RECO_OK)
        status = take_result(&p, counts, weights, ran_out, &stats, out);
done:
    if (status == RECO_ERR_NOMEM)
        errbuf_set(err, err_len, "out of memory");
    if (status != RECO_OK)
        memset(out, 0, sizeof *out);
    free(p.picks);
    reco_arena_free(&p.arena);
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

/* The baselines of the quality evaluation, by brute force over the model's scaled rows (a pass
 * over ~90k x 15 floats is about a millisecond). See baselines.h for what each one does. */
#include "baselines.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KNN_BLOCK 8u

const char *baseline_name(enum baseline baseline)
{
    switch (baseline) {
    case BASELINE_MEAN:
        return "mean";
    case BASELINE_MEAN_UNFILTERED:
        return "mean-unfiltered";
    case BASELINE_NOTEBOOK:
        return "notebook";
    case BASELINE_KNN_UNION:
        return "knn-union";
    case BASELINE_KNN_UNION_ARTISTS:
        return "knn-union-artists";
    case BASELINE_KNN_UNION_3:
        return "knn-union-3";
    case BASELINE_KNN_UNION_30:
        return "knn-union-30";
    case BASELINE_RANDOM_GENRE:
        return "random-genre";
    case BASELINE_RANDOM_CATALOG:
        return "random-catalog";
    case BASELINE_COUNT:
        break;
    }
    return "unknown";
}

int baseline_scratch_init(struct baseline_scratch *scratch, uint32_t n_rows)
{
    size_t n = n_rows ? n_rows : 1;
    scratch->n_rows = n_rows;
    scratch->score = calloc(n, sizeof *scratch->score);
    scratch->votes = calloc(n, sizeof *scratch->votes);
    scratch->mark = calloc(n, sizeof *scratch->mark);
    scratch->touched = calloc(n, sizeof *scratch->touched);
    if (!scratch->score || !scratch->votes || !scratch->mark || !scratch->touched) {
        baseline_scratch_free(scratch);
        return -1;
    }
    return 0;
}

void baseline_scratch_free(struct baseline_scratch *scratch)
{
    free(scratch->score);
    free(scratch->votes);
    free(scratch->mark);
    free(scratch->touched);
    memset(scratch, 0, sizeof *scratch);
}

/* Mean of the given rows in the scaled space. */
static void mean_of(const struct model *model, const uint32_t *rows, uint32_t n_rows, float *mean)
{
    memset(mean, 0, model->n_dims * sizeof *mean);
    for (uint32_t i = 0; i < n_rows; i++) {
        const float *x = model->rows + (size_t)rows[i] * model->n_dims;
        for (uint32_t d = 0; d < model->n_dims; d++)
            mean[d] += x[d];
    }
    for (uint32_t d = 0; d < model->n_dims; d++)
        mean[d] /= n_rows ? (float)n_rows : 1.0f;
}

/* The m rows of [begin, end) with the highest cosine to v, skipping marked rows (mark may be
 * NULL); ties go to the lower row. Returns how many were written to out. */
static uint32_t top_cosine(const struct model *model, const float *v, uint32_t begin, uint32_t end,
                           const uint8_t *mark, uint32_t m, uint32_t *out, float *out_score)
{
    double norm = 0;
    for (uint32_t d = 0; d < model->n_dims; d++)
        norm += (double)v[d] * v[d];
    float v_norm = (float)sqrt(norm);
    uint32_t kept = 0;
    for (uint32_t r = begin; r < end; r++) {
        if (mark && mark[r])
            continue;
        const float *x = model->rows + (size_t)r * model->n_dims;
        float dot = 0;
        for (uint32_t d = 0; d < model->n_dims; d++)
            dot += x[d] * v[d];
        float denominator = model->row_norms[r] * v_norm;
        float score = denominator > 0 ? dot / denominator : 0;
        if (kept == m && !(score > out_score[m - 1]))
            continue;
        uint32_t at = kept < m ? kept++ : m - 1;
        while (at > 0 && score > out_score[at - 1]) {
            out_score[at] = out_score[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        out_score[at] = score;
        out[at] = r;
    }
    return kept;
}

static uint32_t run_mean(const struct model *model, const uint32_t *saved_rows,
                         uint32_t n_saved_rows, uint32_t n, int exclude,
                         struct baseline_scratch *scratch, uint32_t *picks)
{
    float mean[BASELINE_MAX_DIMS];
    mean_of(model, saved_rows, n_saved_rows, mean);
    for (uint32_t i = 0; exclude && i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 1;
    uint32_t got = top_cosine(model, mean, 0, model->n_rows, exclude ? scratch->mark : NULL, n,
                              picks, scratch->score);
    for (uint32_t i = 0; exclude && i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 0;
    return got;
}

static uint32_t run_notebook(const struct model *model, const uint32_t *saved_rows,
                             uint32_t n_saved_rows, uint32_t n, struct baseline_scratch *scratch,
                             uint32_t *picks)
{
    uint32_t *count = calloc(model->k, sizeof *count);
    uint32_t *members = malloc((n_saved_rows ? n_saved_rows : 1) * sizeof *members);
    uint32_t got = 0;
    if (!count || !members)
        goto done;
    for (uint32_t i = 0; i < n_saved_rows; i++)
        count[model_row_cluster(model, saved_rows[i])]++;
    for (uint32_t c = 0; c < model->k; c++) {
        if (count[c] == 0)
            continue;
        uint32_t slots = (uint32_t)nearbyint((double)n * count[c] / n_saved_rows);
        if (slots == 0)
            continue;
        uint32_t n_members = 0;
        for (uint32_t i = 0; i < n_saved_rows; i++)
            if (model_row_cluster(model, saved_rows[i]) == c)
                members[n_members++] = saved_rows[i];
        float mean[BASELINE_MAX_DIMS];
        mean_of(model, members, n_members, mean);
        got += top_cosine(model, mean, model->cluster_start[c], model->cluster_start[c + 1], NULL,
                          slots, picks + got, scratch->score);
    }
done:
    free(count);
    free(members);
    return got;
}

struct voted {
    uint32_t row, votes;
    float mean_distance;
};

static int compare_voted(const void *a, const void *b)
{
    const struct voted *x = a, *y = b;
    if (x->votes != y->votes)
        return x->votes > y->votes ? -1 : 1;
    if (x->mean_distance != y->mean_distance)
        return x->mean_distance < y->mean_distance ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Nearest unmarked rows of up to KNN_BLOCK queries in one pass over the catalog. */
static void knn_block(const struct model *model, const uint32_t *queries, uint32_t n_queries,
                      const uint8_t *mark, uint32_t kn, float best_d[][BASELINE_KNN_MAX],
                      uint32_t best_r[][BASELINE_KNN_MAX])
{
    const uint32_t dims = model->n_dims;
    float qt[BASELINE_MAX_DIMS][KNN_BLOCK];
    for (uint32_t d = 0; d < dims; d++)
        for (uint32_t j = 0; j < KNN_BLOCK; j++)
            qt[d][j] = model->rows[(size_t)queries[j < n_queries ? j : 0] * dims + d];
    for (uint32_t j = 0; j < KNN_BLOCK; j++)
        for (uint32_t i = 0; i < kn; i++) {
            best_d[j][i] = FLT_MAX;
            best_r[j][i] = UINT32_MAX;
        }
    for (uint32_t r = 0; r < model->n_rows; r++) {
        if (mark[r])
            continue;
        const float *x = model->rows + (size_t)r * dims;
        float acc[KNN_BLOCK] = {0};
        for (uint32_t d = 0; d < dims; d++)
            for (uint32_t j = 0; j < KNN_BLOCK; j++) {
                float diff = qt[d][j] - x[d];
                acc[j] += diff * diff;
            }
        for (uint32_t j = 0; j < n_queries; j++) {
            if (!(acc[j] < best_d[j][kn - 1]))
                continue;
            uint32_t at = kn - 1;
            while (at > 0 && acc[j] < best_d[j][at - 1]) {
                best_d[j][at] = best_d[j][at - 1];
                best_r[j][at] = best_r[j][at - 1];
                at--;
            }
            best_d[j][at] = acc[j];
            best_r[j][at] = r;
        }
    }
}

static int compare_keys(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t run_knn_union(const struct model *model, const uint32_t *saved_rows,
                              uint32_t n_saved_rows, uint32_t n, int artists, uint32_t kn,
                              struct baseline_scratch *scratch, uint32_t *picks)
{
    uint32_t n_touched = 0, got = 0;
    uint32_t *saved_artists = NULL;
    for (uint32_t i = 0; i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 1;
    for (uint32_t b = 0; b < n_saved_rows; b += KNN_BLOCK) {
        uint32_t n_queries = n_saved_rows - b < KNN_BLOCK ? n_saved_rows - b : KNN_BLOCK;
        float best_d[KNN_BLOCK][BASELINE_KNN_MAX];
        uint32_t best_r[KNN_BLOCK][BASELINE_KNN_MAX];
        knn_block(model, saved_rows + b, n_queries, scratch->mark, kn, best_d, best_r);
        for (uint32_t j = 0; j < n_queries; j++)
            for (uint32_t i = 0; i < kn; i++) {
                uint32_t r = best_r[j][i];
                if (r == UINT32_MAX)
                    continue;
                if (scratch->votes[r] == 0) {
                    scratch->touched[n_touched++] = r;
                    scratch->score[r] = 0;
                }
                scratch->votes[r]++;
                scratch->score[r] += sqrtf(best_d[j][i]);
            }
    }
    if (artists) {
        /* Every unsaved song by a saved artist joins with the bonus (and no distance). */
        saved_artists = malloc((n_saved_rows ? n_saved_rows : 1) * sizeof *saved_artists);
        if (!saved_artists)
            goto done;
        for (uint32_t i = 0; i < n_saved_rows; i++)
            saved_artists[i] = model_row_artist_key(model, saved_rows[i]);
        qsort(saved_artists, n_saved_rows, sizeof *saved_artists, compare_keys);
        for (uint32_t r = 0; r < model->n_rows; r++) {
            uint32_t key = model_row_artist_key(model, r);
            if (scratch->mark[r] ||
                !bsearch(&key, saved_artists, n_saved_rows, sizeof *saved_artists, compare_keys))
                continue;
            if (scratch->votes[r] == 0) {
                scratch->touched[n_touched++] = r;
                scratch->score[r] = FLT_MAX / 4;
            }
            scratch->votes[r] += BASELINE_ARTIST_BONUS;
        }
    }
    struct voted *voted = malloc((n_touched ? n_touched : 1) * sizeof *voted);
    if (voted) {
        for (uint32_t i = 0; i < n_touched; i++) {
            uint32_t r = scratch->touched[i];
            voted[i] = (struct voted){r, scratch->votes[r], scratch->score[r] / scratch->votes[r]};
        }
        qsort(voted, n_touched, sizeof *voted, compare_voted);
        for (uint32_t i = 0; i < n_touched && got < n; i++) {
            uint32_t key = model_row_artist_key(model, voted[i].row), same = 0;
            for (uint32_t j = 0; artists && j < got; j++)
                same += model_row_artist_key(model, picks[j]) == key;
            if (same < BASELINE_MAX_PER_ARTIST)
                picks[got++] = voted[i].row;
        }
        free(voted);
    }
done:
    free(saved_artists);
    for (uint32_t i = 0; i < n_touched; i++)
        scratch->votes[scratch->touched[i]] = 0;
    for (uint32_t i = 0; i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 0;
    return got;
}

static uint32_t run_random(const struct model *model, const struct labels *labels,
                           const struct sim_user *user, const uint32_t *saved_rows,
                           uint32_t n_saved_rows, uint32_t n, int by_genre, struct rng *rng,
                           struct baseline_scratch *scratch, uint32_t *picks)
{
    uint32_t got = 0;
    for (uint32_t i = 0; i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 1;
    if (by_genre) {
        uint32_t slots[USERS_MAX_GENRES];
        users_apportion(user->target, user->n_genres, n, slots);
        for (uint32_t g = 0; g < user->n_genres; g++) {
            const uint32_t *pool = labels->genre_pool[user->genres[g]];
            uint32_t len = labels->genre_pool_len[user->genres[g]];
            uint32_t wanted = got + slots[g];
            for (uint32_t attempt = 0; got < wanted && len > 0 && attempt < 50 * len; attempt++) {
                uint32_t row = labels->id_row[pool[rng_below(rng, len)]];
                if (scratch->mark[row])
                    continue;
                scratch->mark[row] = 1;
                picks[got++] = row;
            }
        }
    } else {
        for (uint32_t attempt = 0; got < n && attempt < 50 * n + model->n_rows; attempt++) {
            uint32_t row = rng_below(rng, model->n_rows);
            if (scratch->mark[row])
                continue;
            scratch->mark[row] = 1;
            picks[got++] = row;
        }
    }
    for (uint32_t i = 0; i < got; i++)
        scratch->mark[picks[i]] = 0;
    for (uint32_t i = 0; i < n_saved_rows; i++)
        scratch->mark[saved_rows[i]] = 0;
    return got;
}

uint32_t baseline_run(enum baseline baseline, const struct model *model,
                      const struct labels *labels, const struct sim_user *user,
                      const uint32_t *saved_rows, uint32_t n_saved_rows, uint32_t n,
                      struct rng *rng, struct baseline_scratch *scratch, uint32_t *picks)
{
    if (model->n_dims > BASELINE_MAX_DIMS)
        return UINT32_MAX;
    switch (baseline) {
    case BASELINE_MEAN:
        return run_mean(model, saved_rows, n_saved_rows, n, 1, scratch, picks);
    case BASELINE_MEAN_UNFILTERED:
        return run_mean(model, saved_rows, n_saved_rows, n, 0, scratch, picks);
    case BASELINE_NOTEBOOK:
        return run_notebook(model, saved_rows, n_saved_rows, n, scratch, picks);
    case BASELINE_KNN_UNION:
        return run_knn_union(model, saved_rows, n_saved_rows, n, 0, BASELINE_KNN_NEIGHBOURS,
                             scratch, picks);
    case BASELINE_KNN_UNION_3:
        return run_knn_union(model, saved_rows, n_saved_rows, n, 0, 3, scratch, picks);
    case BASELINE_KNN_UNION_30:
        return run_knn_union(model, saved_rows, n_saved_rows, n, 0, 30, scratch, picks);
    case BASELINE_KNN_UNION_ARTISTS:
        return run_knn_union(model, saved_rows, n_saved_rows, n, 1, BASELINE_KNN_NEIGHBOURS,
                             scratch, picks);
    case BASELINE_RANDOM_GENRE:
        return run_random(model, labels, user, saved_rows, n_saved_rows, n, 1, rng, scratch, picks);
    case BASELINE_RANDOM_CATALOG:
        return run_random(model, labels, user, saved_rows, n_saved_rows, n, 0, rng, scratch, picks);
    case BASELINE_COUNT:
        break;
    }
    return 0;
}

/* Picking (step 4): phases of picks shared across the styles by weight (saved artists first,
 * the rest, new artists for discover, mood-target windows relaxed when short), each state filled
 * from its ranking under the rules: never a saved song or the same song twice, at most
 * max_per_artist per primary artist, the picks' mean near each mood target. */
#include "picking.h"

#include "artist_pool.h" /* artist index hook */
#include "rank.h"
#include "steer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Candidates kept per cluster pass (saved rows never enter): this many per slot plus a margin
 * for the artist and same-song rules; a cluster that needs more is passed over again with four
 * times as many. */
#define CANDIDATES_PER_SLOT 4u
#define CANDIDATE_MARGIN    8u

/* The rules every pick keeps but the mood windows: eligible (not a saved song, within the
 * steering rules), not picked yet, its primary artist under max_per_artist, and not the same
 * song (same primary artist, same normalised title) as a saved one or a pick. Writes the row's
 * artist and song keys, which recording the pick needs. */
static bool within_rules(struct picking *p, uint32_t row, uint32_t *artist, uint32_t *song)
{
    const struct model *m = p->model;
    if (!eligible(p, row) || row_set_has(&p->picked_rows, row))
        return false;
    *artist = model_row_artist_key(m, row);
    const struct artist_entry *seen = artist_map_get(&p->artists, *artist, false);
    if (seen && seen->n_picks >= p->max_per_artist)
        return false;
    *song = model_row_song_key(m, row);
    return !row_set_has(&p->saved_songs, *song) && !row_set_has(&p->picked_songs, *song);
}

/* within_rules and the mood windows for one candidate; on success records the pick. */
static bool try_pick(struct picking *p, const struct candidate *c, uint32_t cluster)
{
    const struct model *m = p->model;
    uint32_t artist, song;
    if (!within_rules(p, c->row, &artist, &song))
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

/* One phase of picking: `slots` more picks shared across the styles and the flat ranking by
 * weight (k + 1 entries, see style_weights). With hand_over, a state that runs out hands its
 * leftover to the others still open in proportion, and the flat ranking takes what none of them
 * can give; without, the phase ends short and each state's picks are in states[c].got. Every
 * state starts afresh (the phase's rules may differ from the last one's). */
static enum reco_status run_phase(struct picking *p, struct cluster_state *states,
                                  const uint32_t *weights, uint32_t slots, bool hand_over)
{
    const uint32_t k = p->model->k;
    uint32_t *weight = reco_arena_alloc(&p->arena, k + 1, sizeof *weight);
    uint32_t *alloc = reco_arena_alloc(&p->arena, k + 1, sizeof *alloc);
    enum reco_status status = RECO_ERR_NOMEM;
    if (!weight || !alloc)
        goto done;
    memcpy(weight, weights, (k + 1) * sizeof *weight);
    for (uint32_t c = 0; c <= k; c++) {
        struct cluster_state *cs = &states[c];
        cs->ranked = NULL; /* its memory (cs->heap) is kept for the next ranking */
        cs->n_pool = 0;    /* and so is the pool's */
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
        if (!hand_over)
            break;
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
    return status;
}

/* One phase of songs by saved artists only, `slots` of them shared by weight, no hand-over. */
static enum reco_status saved_artists_phase(struct picking *p, struct cluster_state *states,
                                            const uint32_t *weights, uint32_t slots)
{
    bool restricted = p->restricted;
    p->saved_artists_only = true;
    p->restricted = true;
    enum reco_status status = run_phase(p, states, weights, slots, false);
    p->saved_artists_only = false;
    p->restricted = restricted;
    return status;
}

/* What each style's saved artists could not fill (share[c], k + 1 entries), lent to the
 * related styles (styles_related) whose saved artists filled theirs, in proportion to their
 * weights: the slots become the related style's, taken there first from songs by saved
 * artists. On return share[] holds what is still unfilled: a style that lent nothing keeps its
 * part, and a related style keeps what its saved artists could not take of what it was lent,
 * to fill from its own other songs like the rest of its share. (Giving that back to the lender
 * instead cost 0.9 points of precision on real single playlists, tests/quality: the lenders
 * there are mostly clusters named by their sound, whose own songs fit the playlist less well.)
 * The shares never go below zero: each state's picks in a phase are at most its slots there,
 * and reco_apportion of a sum over its own parts gives back exactly those parts. */
static enum reco_status lend_to_related(struct picking *p, struct cluster_state *states,
                                        const uint32_t *weights, uint32_t *share)
{
    const uint32_t k = p->model->k, n = k + 1;
    uint32_t *lent = reco_arena_calloc(&p->arena, n, sizeof *lent);
    uint32_t *to = reco_arena_alloc(&p->arena, n, sizeof *to);
    uint32_t *part = reco_arena_alloc(&p->arena, n, sizeof *part);
    bool *filled = reco_arena_alloc(&p->arena, n, sizeof *filled);
    if (!lent || !to || !part || !filled)
        return RECO_ERR_NOMEM;
    /* Filled: given a share this phase and took all of it from its saved artists. */
    for (uint32_t c = 0; c < n; c++)
        filled[c] = c < k && weights[c] > 0 && states[c].got > 0 && share[c] == 0;
    uint32_t moved = 0;
    for (uint32_t c = 0; c < k; c++) {
        if (share[c] == 0 || weights[c] == 0)
            continue;
        uint32_t receivers = 0;
        for (uint32_t o = 0; o < n; o++) {
            bool takes = filled[o] && styles_related(p->model, p->related2, c, o);
            to[o] = takes ? weights[o] : 0;
            receivers += takes;
        }
        if (receivers == 0)
            continue;
        reco_apportion(to, n, share[c], part);
        for (uint32_t o = 0; o < n; o++)
            lent[o] += part[o];
        moved += share[c];
        share[c] = 0;
    }
    if (moved == 0)
        return RECO_OK;
    enum reco_status status = saved_artists_phase(p, states, lent, moved);
    for (uint32_t o = 0; o < n && status == RECO_OK; o++)
        share[o] += lent[o] - states[o].got;
    return status;
}

/* The familiar picks of a ranking that puts saved artists first: each state's share of
 * `familiar` by weight, first from songs by saved artists; what a style's saved artists cannot
 * fill it lends to related styles (lend_to_related), or else keeps; then each style fills what
 * is left of its share from the rest of its own songs; only what a style cannot fill at all is
 * handed over to the others. (Handing a style's share to any style's saved artists as soon as its own ran out once
 * turned a library of 48% edm, 40% punk and 12% folk into a playlist with a third folk.) */
static enum reco_status saved_artists_first(struct picking *p, struct cluster_state *states,
                                            const uint32_t *weights, uint32_t familiar)
{
    const uint32_t k = p->model->k;
    uint32_t *share = reco_arena_alloc(&p->arena, k + 1, sizeof *share);
    if (!share)
        return RECO_ERR_NOMEM;
    uint32_t limit = p->n_picks + familiar < p->want ? familiar : p->want - p->n_picks;
    reco_apportion(weights, k + 1, limit, share);
    enum reco_status status = saved_artists_phase(p, states, share, limit);
    if (status != RECO_OK)
        return status;
    for (uint32_t c = 0; c <= k; c++)
        share[c] -= states[c].got; /* got <= share: the phase gave each state its share */
    status = lend_to_related(p, states, weights, share);
    if (status != RECO_OK)
        return status;
    uint32_t rest = 0;
    for (uint32_t c = 0; c <= k; c++)
        rest += share[c];
    p->new_artists_only = false;
    return rest > 0 ? run_phase(p, states, share, rest, true) : RECO_OK;
}

/* Every phase of a playlist: the familiar picks (saved artists first where the ranking has
 * them), then the discovery picks (new artists only, round(discover * n) of them, and what the
 * familiar phase could not give), then, when mood targets left the playlist short, the same
 * with the target windows widened, and at last without them. */
enum reco_status run_phases(struct picking *p, struct cluster_state *states,
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
            status = saved_artists_first(p, states, weights, familiar);
            if (status != RECO_OK)
                return status;
            familiar = 0;
        }
        if (familiar > 0) {
            p->new_artists_only = false;
            status = run_phase(p, states, weights, familiar, true);
            if (status != RECO_OK)
                return status;
        }
        if (p->n_picks < p->want && p->discover > 0.0f) {
            p->new_artists_only = true;
            p->restricted = true;
            status = run_phase(p, states, weights, p->want - p->n_picks, true);
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

/* Whether the row could still be picked under the request's rules, the phases over (with
 * discover at 1, by a new artist). */
static bool could_pick(struct picking *p, uint32_t row)
{
    uint32_t artist, song;
    return within_rules(p, row, &artist, &song) &&
           !(p->discover >= 1.0f && by_saved_artist(p, row));
}

enum reco_status styles_ran_out(struct picking *p, const uint32_t *weights, bool *ran_out)
{
    const struct model *m = p->model;
    const uint32_t k = m->k;
    const struct reco_arena_mark mark = reco_arena_mark(&p->arena);
    uint32_t *share = reco_arena_alloc(&p->arena, k + 1, sizeof *share);
    uint32_t *picked = reco_arena_calloc(&p->arena, k + 1, sizeof *picked);
    if (!share || !picked)
        return RECO_ERR_NOMEM;
    reco_apportion(weights, k + 1, p->want, share);
    for (uint32_t i = 0; i < p->n_picks; i++)
        picked[p->picks[i].cluster]++;
    for (uint32_t c = 0; c < k; c++) {
        ran_out[c] = false;
        if (weights[c] == 0 || picked[c] >= share[c])
            continue;
        ran_out[c] = true;
        for (uint32_t row = m->cluster_start[c]; row < m->cluster_start[c + 1] && ran_out[c]; row++)
            ran_out[c] = !could_pick(p, row);
    }
    reco_arena_release(&p->arena, mark);
    return RECO_OK;
}

/* Steering (struct reco_options): the rules a candidate row must pass (release years, no
 * explicit lyrics, mood-target windows, new or saved artists by phase), the mood targets as
 * windows, the variety seed's skips, and the words for a short playlist. */
#ifndef MIXTAPE_RECO_STEER_H
#define MIXTAPE_RECO_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picking.h"

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

/* True when the user saved a song by the row's primary artist. */
static inline bool by_saved_artist(const struct picking *p, uint32_t row)
{
    return p->saved_artists.n > 0 &&
           saved_artists_has(&p->saved_artists, p->model->artist_keys[row]);
}

/* The steering rules that do not depend on the row's artist: the release years, no explicit
 * lyrics (a song whose catalog does not say is left out), and the mood target windows. */
bool passes_song_rules(const struct picking *p, uint32_t row) __attribute__((pure));

/* The steering rules for a row that is not a saved song: the discovery phase's new artists
 * only, the familiar phase's saved artists only, and passes_song_rules. */
bool passes_rules(const struct picking *p, uint32_t row) __attribute__((pure));

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

/* With a variety seed, whether the first round over a state's ranking passes the row over
 * (two rows in three, by the seed); never in the second round or without a seed. */
bool skipped_by_variety(const struct picking *p, const struct cluster_state *cs, uint32_t row);

/* The mood targets as windows on the model's raw features; a target on a feature the model
 * lacks is refused, naming it. */
enum reco_status set_targets(struct picking *p, const struct reco_options *o, char *err,
                             size_t err_len);

/* Why a playlist is short, in words for a person (struct reco_result short_reason). */
void say_short(const struct picking *p, char *out, size_t len);

#endif

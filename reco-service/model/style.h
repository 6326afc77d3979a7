/* Style names: a short human name for each k-means cluster, from its dominant genre labels (by
 * lift over the catalog: "jazz · bossa nova") or, when its songs carry too few labels, from
 * what sets its centroid apart ("calm · acoustic · 1970s"). Names are unique across a model.
 * Used by `reco-model build` (with labels) and by model_write (centroid names only). */
#ifndef MIXTAPE_STYLE_H
#define MIXTAPE_STYLE_H

#include <stddef.h>
#include <stdint.h>

#include "model_build.h"

/* Bytes of a name, NUL included (names longer are cut at a label boundary). */
#define STYLE_NAME_MAX 96u

enum style_status {
    STYLE_OK = 0,
    STYLE_ERR_INVALID, /* k or n_rows is 0, a label >= k */
    STYLE_ERR_NOMEM,
};

/* "ok", ...; never NULL. */
const char *style_strerror(enum style_status status);

struct style_input {
    uint32_t k, n_rows;
    const uint32_t *cluster; /* n_rows: each row's cluster (< k) */
    /* n_rows genre label lists ("a\0b\0\0"), an entry NULL or "" when the row has none; the
     * whole array NULL when no row has labels. */
    const char *const *row_labels;
    const struct model_build_dim *dims; /* the scaled space; genre dimensions are skipped */
    uint32_t n_dims;
    const float *centroids; /* k x n_dims */
};

/* Names every cluster: names[c] (STYLE_NAME_MAX bytes each, caller's k x STYLE_NAME_MAX
 * buffer) gets "label · label" when at least a quarter of the cluster's songs carry labels and
 * one of them stands out (share >= 8% and lift >= 1.2, ranked by share x ln(lift); a second
 * label when it scores at least half the first and neither is words of the other), else the
 * centroid's name. Duplicates then gain their centroid's descriptor words, strongest first, and
 * a number if still equal (names with the same labels in another order count as equal).
 * Writes *n_labelled (clusters named from labels) when non-NULL. Returns STYLE_OK or an error
 * with a reason in err. Does not block on I/O. */
enum style_status style_name_clusters(const struct style_input *in, char *names,
                                      uint32_t *n_labelled, char *err, size_t err_len);

/* The centroid's name from its audio dimensions: the two strongest deviations from the
 * catalog mean (|z| >= 0.25, each a word such as "calm" or "acoustic"), then the decade of its
 * year when year is a dimension; "balanced" when nothing stands out. Writes at most out_len
 * bytes, NUL-terminated; returns the length. */
size_t style_name_from_centroid(const struct model_build_dim *dims, uint32_t n_dims,
                                const float *centroid, char *out, size_t out_len);

/* Whether two style names (as style_name_clusters writes them) share a genre word: "pop" in
 * "pop · electropop" and "indie pop"; descriptor words ("calm"), "balanced", decades, the
 * numbers that make names unique, words under three letters and "and", "the", "of", "with" do
 * not count; ASCII case ignored. */
bool style_names_share_genre(const char *a, const char *b);

/* Whether a style name says nothing of genres: every word a descriptor, "balanced", a decade or
 * a number (a name from the centroid, not from labels). */
bool style_name_is_descriptive(const char *name);

#endif

/* Style names (style.h): count each genre label per cluster, name a cluster by the labels that
 * lift most over the catalog, fall back on the centroid's strongest deviations, then make the
 * names unique. */
#include "style.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "label_table.h"
#include "model_format.h"

#define SEPARATOR        " \xc2\xb7 " /* " · " */
#define MIN_LABELLED     0.25         /* share of a cluster's songs that must carry labels */
#define MIN_SHARE        0.08         /* a label's share of the labelled songs of its cluster */
#define MIN_LIFT         1.2          /* and its share over its share of the whole catalog */
#define SECOND_SCORE     0.5          /* a second label scores at least this x the first */
#define MIN_DEVIATION    0.25         /* |z| of a descriptor */
#define MAX_LABEL_LENGTH 40u          /* longer labels are not used in names */

const char *style_strerror(enum style_status status)
{
    switch (status) {
    case STYLE_OK:
        return "ok";
    case STYLE_ERR_INVALID:
        return "invalid style input";
    case STYLE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown style status";
}

/* ---- centroid names ---------------------------------------------------------------------- */

struct descriptor {
    const char *high, *low;
};

/* The words of a deviation above / below the catalog mean. Key has none; year is a decade. */
static const struct descriptor DESCRIPTORS[FEAT_COUNT] = {
    [FEAT_VALENCE] = {"bright", "dark"},
    [FEAT_ACOUSTICNESS] = {"acoustic", "electric"},
    [FEAT_POPULARITY] = {"popular", "obscure"},
    [FEAT_DANCEABILITY] = {"danceable", "loose"},
    [FEAT_DURATION_MS] = {"long", "short"},
    [FEAT_ENERGY] = {"energetic", "calm"},
    [FEAT_EXPLICIT] = {"explicit", "clean"},
    [FEAT_INSTRUMENTALNESS] = {"instrumental", "vocal"},
    [FEAT_LIVENESS] = {"live", "studio"},
    [FEAT_LOUDNESS] = {"loud", "quiet"},
    [FEAT_MODE] = {"major", "minor"},
    [FEAT_SPEECHINESS] = {"spoken", "sung"},
    [FEAT_TEMPO] = {"fast", "slow"},
};

/* Appends part to out (with the separator when out is not empty); false when it does not fit
 * (out unchanged). */
static bool append_part(char *out, size_t out_len, const char *part)
{
    size_t len = strlen(out);
    size_t sep = len ? strlen(SEPARATOR) : 0;
    size_t add = strlen(part);
    if (len + sep + add + 1 > out_len)
        return false;
    if (sep) {
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the part's NUL follows */
        memcpy(out + len, SEPARATOR, sep);
    }
    memcpy(out + len + sep, part, add + 1);
    return true;
}

/* A centroid's descriptor words, strongest deviation first (all of them, the weak ones last),
 * with the decade of its year (when year is a dimension) after the first two. Returns the
 * count; words point at static strings or into decade (16 bytes). */
static uint32_t centroid_words(const struct model_build_dim *dims, uint32_t n_dims,
                               const float *centroid, const char **words, double *strength,
                               char *decade)
{
    uint32_t n = 0;
    bool has_decade = false;
    for (uint32_t d = 0; d < n_dims; d++) {
        const struct model_build_dim *x = &dims[d];
        if (x->kind != MODEL_DIM_LINEAR || (unsigned)x->feature >= FEAT_COUNT)
            continue;
        double z = centroid[d] / x->weight;
        if (x->feature == FEAT_YEAR) {
            double year = z * x->std + x->mean;
            if (year >= 1000 && year < 2200) {
                snprintf(decade, 16, "%ds", (int)(floor(year / 10.0) * 10.0));
                has_decade = true;
            }
            continue;
        }
        const struct descriptor *w = &DESCRIPTORS[x->feature];
        if (!w->high || !isfinite(z))
            continue;
        words[n] = z > 0 ? w->high : w->low;
        strength[n] = fabs(z);
        n++;
    }
    /* Strongest first (insertion sort: at most 15); ties keep dimension order. */
    for (uint32_t i = 1; i < n; i++) {
        for (uint32_t j = i; j > 0 && strength[j] > strength[j - 1]; j--) {
            const char *w = words[j];
            double st = strength[j];
            words[j] = words[j - 1];
            strength[j] = strength[j - 1];
            words[j - 1] = w;
            strength[j - 1] = st;
        }
    }
    if (has_decade) {
        uint32_t at = n < 2 ? n : 2;
        memmove(words + at + 1, words + at, (n - at) * sizeof *words);
        memmove(strength + at + 1, strength + at, (n - at) * sizeof *strength);
        words[at] = decade;
        strength[at] = INFINITY; /* always named */
        n++;
    }
    return n;
}

size_t style_name_from_centroid(const struct model_build_dim *dims, uint32_t n_dims,
                                const float *centroid, char *out, size_t out_len)
{
    const char *words[FEAT_COUNT + 1];
    double strength[FEAT_COUNT + 1];
    char decade[16];
    if (out_len == 0)
        return 0;
    out[0] = '\0';
    uint32_t n = centroid_words(dims, n_dims, centroid, words, strength, decade);
    uint32_t named = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool is_decade = words[i] == decade;
        if (!is_decade && (named >= 2 || strength[i] < MIN_DEVIATION))
            continue;
        append_part(out, out_len, words[i]);
        named += !is_decade;
    }
    if (named == 0) {
        char with_decade[STYLE_NAME_MAX];
        snprintf(with_decade, sizeof with_decade, "%s", out);
        out[0] = '\0';
        append_part(out, out_len, "balanced");
        if (with_decade[0])
            append_part(out, out_len, with_decade);
    }
    return strlen(out);
}

/* ---- reading names back ------------------------------------------------------------------ */

/* The next word of a name from *p (separators: space, '-', '/', ',' and the middle dot), its
 * length in *len; NULL at the end. */
static const char *next_word(const char **p, size_t *len)
{
    const char *s = *p;
    for (;;) {
        if (*s == ' ' || *s == '-' || *s == '/' || *s == ',')
            s++;
        else if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xb7)
            s += 2;
        else
            break;
    }
    if (!*s)
        return NULL;
    const char *start = s;
    while (*s && *s != ' ' && *s != '-' && *s != '/' && *s != ',' &&
           !((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xb7))
        s++;
    *len = (size_t)(s - start);
    *p = s;
    return start;
}

/* A descriptor word, "balanced", a decade ("1970s") or a number. */
static bool is_descriptive_word(const char *w, size_t len)
{
    size_t digits = 0;
    while (digits < len && w[digits] >= '0' && w[digits] <= '9')
        digits++;
    if (digits == len || (digits == 4 && len == 5 && w[4] == 's'))
        return true;
    if (len == strlen("balanced") && strncasecmp(w, "balanced", len) == 0)
        return true;
    for (size_t f = 0; f < FEAT_COUNT; f++) {
        const char *words[2] = {DESCRIPTORS[f].high, DESCRIPTORS[f].low};
        for (int i = 0; i < 2; i++)
            if (words[i] && strlen(words[i]) == len && strncasecmp(w, words[i], len) == 0)
                return true;
    }
    return false;
}

/* Words too short or too common to relate two genres: "n" in "r-n-b" and "rock-n-roll", "and"
 * in "drum and bass" and "rock and roll". */
static bool is_connector_word(const char *w, size_t len)
{
    static const char *const CONNECTORS[] = {"and", "the", "of", "with"};
    if (len < 3)
        return true;
    for (size_t i = 0; i < sizeof CONNECTORS / sizeof CONNECTORS[0]; i++)
        if (strlen(CONNECTORS[i]) == len && strncasecmp(w, CONNECTORS[i], len) == 0)
            return true;
    return false;
}

bool style_names_share_genre(const char *a, const char *b)
{
    size_t alen, blen;
    for (const char *p = a, *wa; (wa = next_word(&p, &alen)) != NULL;) {
        if (is_descriptive_word(wa, alen) || is_connector_word(wa, alen))
            continue;
        for (const char *q = b, *wb; (wb = next_word(&q, &blen)) != NULL;)
            if (blen == alen && strncasecmp(wa, wb, alen) == 0)
                return true;
    }
    return false;
}

bool style_name_is_descriptive(const char *name)
{
    size_t len;
    for (const char *p = name, *w; (w = next_word(&p, &len)) != NULL;)
        if (!is_descriptive_word(w, len))
            return false;
    return true;
}

/* ---- label counting ---------------------------------------------------------------------- */

/* Whether every word of a appears as a word in b ("pop" in "dance pop"), or the two are equal
 * ignoring case. */
static bool words_within(const char *a, const char *b)
{
    const char *p = a;
    while (*p) {
        while (*p == ' ' || *p == '-')
            p++;
        size_t len = strcspn(p, " -");
        if (len == 0)
            break;
        bool found = false;
        for (const char *q = b; *q && !found;) {
            while (*q == ' ' || *q == '-')
                q++;
            size_t qlen = strcspn(q, " -");
            found = qlen == len && strncasecmp(p, q, len) == 0;
            q += qlen;
        }
        if (!found)
            return false;
        p += len;
    }
    return true;
}

/* The label part of cluster c's name into out (empty when labels do not decide it). */
static void name_from_labels(const struct label_table *l, const uint32_t *count, uint64_t labelled,
                             uint32_t size, const uint32_t *global, uint64_t global_labelled,
                             char *out, size_t out_len)
{
    out[0] = '\0';
    if (labelled == 0 || (double)labelled < MIN_LABELLED * size)
        return;
    uint32_t best[2] = {UINT32_MAX, UINT32_MAX};
    double best_score[2] = {0, 0};
    for (uint32_t i = 0; i < l->n; i++) {
        if (!count[i] || strlen(l->text[i]) > MAX_LABEL_LENGTH)
            continue;
        double share = (double)count[i] / (double)labelled;
        double lift = share / ((double)global[i] / (double)global_labelled);
        if (share < MIN_SHARE || lift < MIN_LIFT)
            continue;
        double score = share * log(lift);
        if (score > best_score[0] || (score == best_score[0] && best[0] != UINT32_MAX &&
                                      strcmp(l->text[i], l->text[best[0]]) < 0)) {
            best[1] = best[0];
            best_score[1] = best_score[0];
            best[0] = i;
            best_score[0] = score;
        } else if (score > best_score[1] || (score == best_score[1] && best[1] != UINT32_MAX &&
                                             strcmp(l->text[i], l->text[best[1]]) < 0)) {
            best[1] = i;
            best_score[1] = score;
        }
    }
    if (best[0] == UINT32_MAX)
        return;
    append_part(out, out_len, l->text[best[0]]);
    if (best[1] != UINT32_MAX && best_score[1] >= SECOND_SCORE * best_score[0] &&
        !words_within(l->text[best[1]], l->text[best[0]]) &&
        !words_within(l->text[best[0]], l->text[best[1]]))
        append_part(out, out_len, l->text[best[1]]);
}

/* Counts labels per cluster and names the clusters labels decide (others stay ""). */
static enum style_status label_names(const struct style_input *in, char *names,
                                     uint32_t *n_labelled)
{
    enum style_status status = STYLE_ERR_NOMEM;
    struct label_table l = {0};
    uint32_t *row_label_start = NULL, *row_label = NULL, *order = NULL, *start = NULL;
    uint32_t *global = NULL, *count = NULL;
    uint64_t total = 0;

    /* Intern every label of every row once; row r's labels are
     * row_label[row_label_start[r] .. row_label_start[r + 1]). */
    for (uint32_t r = 0; r < in->n_rows; r++)
        for (const char *p = in->row_labels[r]; p && *p; p += strlen(p) + 1)
            total++;
    if (total >= UINT32_MAX)
        goto done;
    row_label_start = malloc(((size_t)in->n_rows + 1) * sizeof *row_label_start);
    row_label = malloc((total ? total : 1) * sizeof *row_label);
    order = malloc((size_t)in->n_rows * sizeof *order);
    start = calloc((size_t)in->k + 1, sizeof *start);
    if (!row_label_start || !row_label || !order || !start)
        goto done;
    uint32_t at = 0;
    for (uint32_t r = 0; r < in->n_rows; r++) {
        row_label_start[r] = at;
        for (const char *p = in->row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = label_table_intern(&l, p);
            if (i == UINT32_MAX)
                goto done;
            /* A label listed twice for one row counts once. */
            bool repeated = false;
            for (uint32_t j = row_label_start[r]; j < at && !repeated; j++)
                repeated = row_label[j] == i;
            if (!repeated)
                row_label[at++] = i;
        }
    }
    row_label_start[in->n_rows] = at;
    global = calloc(l.n ? l.n : 1, sizeof *global);
    count = calloc(l.n ? l.n : 1, sizeof *count);
    if (!global || !count)
        goto done;
    uint64_t global_labelled = 0;
    for (uint32_t r = 0; r < in->n_rows; r++) {
        global_labelled += row_label_start[r + 1] > row_label_start[r];
        for (uint32_t j = row_label_start[r]; j < row_label_start[r + 1]; j++)
            global[row_label[j]]++;
    }
    /* Rows grouped by cluster (counting sort), then one cluster at a time. */
    for (uint32_t r = 0; r < in->n_rows; r++)
        start[in->cluster[r] + 1]++;
    for (uint32_t c = 0; c < in->k; c++)
        start[c + 1] += start[c];
    for (uint32_t r = 0, *fill = start; r < in->n_rows; r++)
        order[fill[in->cluster[r]]++] = r;
    memmove(start + 1, start, in->k * sizeof *start);
    start[0] = 0;
    for (uint32_t c = 0; c < in->k; c++) {
        uint64_t labelled = 0;
        for (uint32_t i = start[c]; i < start[c + 1]; i++) {
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): counting sort fills all */
            uint32_t r = order[i];
            labelled += row_label_start[r + 1] > row_label_start[r];
            for (uint32_t j = row_label_start[r]; j < row_label_start[r + 1]; j++)
                count[row_label[j]]++;
        }
        char *name = names + (size_t)c * STYLE_NAME_MAX;
        name_from_labels(&l, count, labelled, start[c + 1] - start[c], global, global_labelled,
                         name, STYLE_NAME_MAX);
        *n_labelled += name[0] != '\0';
        for (uint32_t i = start[c]; i < start[c + 1]; i++) {
            uint32_t r = order[i];
            for (uint32_t j = row_label_start[r]; j < row_label_start[r + 1]; j++)
                count[row_label[j]] = 0;
        }
    }
    status = STYLE_OK;
done:
    label_table_free(&l);
    free(row_label_start);
    free(row_label);
    free(order);
    free(start);
    free(global);
    free(count);
    return status;
}

/* ---- all clusters ------------------------------------------------------------------------ */

/* Whether part is one of the separator-delimited parts of name. */
static bool has_part(const char *name, const char *part)
{
    size_t len = strlen(part), sep = strlen(SEPARATOR);
    for (const char *p = name; *p;) {
        const char *end = strstr(p, SEPARATOR);
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen == len && memcmp(p, part, len) == 0)
            return true;
        p += plen + (end ? sep : 0);
    }
    return false;
}

/* Whether every part of a is a part of b and the counts match: "latin · tropical" and
 * "tropical · latin" name the same style. */
static bool same_parts(const char *a, const char *b)
{
    size_t sep = strlen(SEPARATOR);
    uint32_t n_a = 0, n_b = 0;
    for (const char *p = b; p; p = strstr(p, SEPARATOR) ? strstr(p, SEPARATOR) + sep : NULL)
        n_b++;
    for (const char *p = a; p;) {
        const char *end = strstr(p, SEPARATOR);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char part[STYLE_NAME_MAX];
        if (len >= sizeof part)
            return false;
        memcpy(part, p, len);
        part[len] = '\0';
        if (!has_part(b, part))
            return false;
        n_a++;
        p = end ? end + sep : NULL;
    }
    return n_a == n_b;
}

static bool name_taken(const char *names, uint32_t k, uint32_t c)
{
    const char *mine = names + (size_t)c * STYLE_NAME_MAX;
    for (uint32_t o = 0; o < k; o++)
        if (o != c && same_parts(names + (size_t)o * STYLE_NAME_MAX, mine))
            return true;
    return false;
}

enum style_status style_name_clusters(const struct style_input *in, char *names,
                                      uint32_t *n_labelled, char *err, size_t err_len)
{
    uint32_t labelled = 0;
    if (in->k == 0 || in->n_rows == 0 || in->n_dims > MODEL_MAX_DIMS) {
        errbuf_set(err, err_len, "style names: k %u, n_rows %u, n_dims %u out of range", in->k,
                   in->n_rows, in->n_dims);
        return STYLE_ERR_INVALID;
    }
    for (uint32_t r = 0; r < in->n_rows; r++) {
        if (in->cluster[r] >= in->k) {
            errbuf_set(err, err_len, "style names: row %u cluster %u >= k %u", r, in->cluster[r],
                       in->k);
            return STYLE_ERR_INVALID;
        }
    }
    memset(names, 0, (size_t)in->k * STYLE_NAME_MAX);
    if (in->row_labels && label_names(in, names, &labelled) != STYLE_OK) {
        errbuf_set(err, err_len, "style names: out of memory counting genre labels");
        return STYLE_ERR_NOMEM;
    }
    for (uint32_t c = 0; c < in->k; c++) {
        char *name = names + (size_t)c * STYLE_NAME_MAX;
        if (!name[0])
            style_name_from_centroid(in->dims, in->n_dims, in->centroids + (size_t)c * in->n_dims,
                                     name, STYLE_NAME_MAX);
    }
    /* Unique: a name shared with another cluster gains its centroid's descriptor words one at
     * a time (strongest first, skipping words it has), then a number. */
    bool *shared = calloc(in->k, sizeof *shared);
    if (!shared) {
        errbuf_set(err, err_len, "style names: out of memory");
        return STYLE_ERR_NOMEM;
    }
    for (uint32_t c = 0; c < in->k; c++)
        shared[c] = name_taken(names, in->k, c);
    for (uint32_t c = 0; c < in->k; c++) {
        if (!shared[c])
            continue;
        char *name = names + (size_t)c * STYLE_NAME_MAX;
        const char *words[FEAT_COUNT + 1];
        double strength[FEAT_COUNT + 1];
        char decade[16], base[STYLE_NAME_MAX];
        uint32_t n = centroid_words(in->dims, in->n_dims, in->centroids + (size_t)c * in->n_dims,
                                    words, strength, decade);
        for (uint32_t i = 0, added = 0; i < n && added < 3 && name_taken(names, in->k, c); i++) {
            if (has_part(name, words[i]))
                continue;
            if (append_part(name, STYLE_NAME_MAX, words[i]))
                added++;
        }
        /* Room for " 4096": cut the base at a UTF-8 character boundary. */
        size_t len = strlen(name);
        if (len > STYLE_NAME_MAX - 12) {
            len = STYLE_NAME_MAX - 12;
            while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
                len--;
        }
        memcpy(base, name, len);
        base[len] = '\0';
        for (uint32_t number = 2; name_taken(names, in->k, c); number++) {
            int wrote = snprintf(name, STYLE_NAME_MAX, "%.*s %u", (int)len, base, number);
            (void)wrote;
        }
    }
    free(shared);
    if (n_labelled)
        *n_labelled = labelled;
    return STYLE_OK;
}

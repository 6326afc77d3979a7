/* The synthetic catalog generator (synth.h): genre profiles, an artist pool, songs drawn
 * around their artist's genre, and duplicate releases; written through zlib (plain or gzip). */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "errbuf.h"
#include "splitmix64.h"

/* Feature profile of a genre: means (and the year spread); spreads are shared below. */
struct genre {
    const char *name;
    double year, year_sd;
    double acousticness, danceability, energy, instrumentalness, liveness, loudness, speechiness,
        tempo, valence, p_major, p_explicit, popularity, duration_s;
};

static const struct genre GENRES[SYNTH_N_GENRES] = {
    {"classical", 1960, 25, .92, .30, .15, .85, .12, -22, .045, 100, .25, .60, .00, 25, 330},
    {"jazz", 1965, 20, .75, .55, .30, .45, .15, -14, .060, 115, .55, .55, .01, 30, 280},
    {"rock", 1985, 15, .10, .48, .78, .06, .20, -7.5, .055, 125, .55, .75, .05, 45, 250},
    {"metal", 1995, 12, .01, .38, .93, .20, .18, -5, .090, 130, .30, .45, .10, 40, 290},
    {"pop", 2012, 8, .20, .68, .66, .01, .15, -5.5, .060, 118, .55, .65, .15, 65, 205},
    {"hip hop", 2010, 9, .12, .78, .62, .01, .18, -6.5, .280, 100, .50, .55, .75, 62, 215},
    {"edm", 2014, 6, .04, .66, .86, .55, .20, -4.5, .070, 127, .40, .55, .08, 55, 240},
    {"country", 2000, 15, .30, .58, .62, .01, .17, -7, .040, 125, .60, .90, .02, 50, 210},
    {"folk", 1975, 20, .80, .50, .30, .05, .13, -13, .040, 110, .45, .80, .00, 35, 220},
    {"r&b", 2005, 12, .22, .70, .55, .01, .14, -7, .110, 105, .55, .45, .35, 55, 230},
    {"latin", 2015, 8, .18, .75, .75, .01, .16, -5, .080, 110, .72, .55, .25, 62, 210},
    {"reggae", 1985, 15, .12, .80, .55, .05, .15, -8, .120, 90, .78, .50, .05, 40, 245},
    {"blues", 1960, 15, .55, .50, .45, .05, .30, -10, .050, 105, .60, .70, .00, 30, 240},
    {"ambient", 2008, 12, .85, .30, .12, .90, .10, -25, .040, 85, .10, .50, .00, 35, 380},
    {"punk", 1985, 12, .02, .42, .94, .02, .30, -5, .080, 160, .45, .85, .12, 40, 160},
    {"soul", 1970, 10, .35, .62, .55, .02, .15, -8, .060, 110, .70, .60, .00, 40, 200},
    {"k-pop", 2017, 4, .15, .70, .78, .00, .17, -4, .080, 122, .60, .60, .05, 60, 200},
    {"lo-fi", 2019, 3, .70, .70, .35, .75, .12, -12, .100, 80, .45, .50, .00, 45, 140},
};

const char *synth_genre_name(uint32_t genre)
{
    return genre < SYNTH_N_GENRES ? GENRES[genre].name : "";
}

static const char *const FIRST[] = {
    "Ada",   "Ben",    "Clara", "Dmitri", "Elena", "Felix", "Grace", "Hugo",  "Iris",   "Jonah",
    "Kira",  "Liam",   "Maya",  "Nina",   "Omar",  "Priya", "Quinn", "Rosa",  "Sven",   "Tara",
    "Uma",   "Victor", "Wren",  "Ximena", "Yusuf", "Zoë",   "José",  "Björn", "Amélie", "Chloé",
    "Dario", "Esme",   "Farah", "Gus",    "Hana",  "Ines",  "Jules", "Kofi",  "Lena",   "Mateo",
};
static const char *const LAST[] = {
    "Lane",     "Park",  "Okafor", "Moreau",   "Silva",   "Novak",  "Reyes",  "Kim",   "Haddad",
    "Berg",     "Costa", "Dubois", "Evans",    "Fischer", "García", "Holm",   "Ito",   "Jensen",
    "Kowalski", "Lund",  "Marsh",  "Nakamura", "O'Neil",  "Petrov", "Quist",  "Rossi", "Sato",
    "Tanaka",   "Ueda",  "Vance",  "Weber",    "Xu",      "Young",  "Zeller", "Ahmed", "Brooks",
};
static const char *const ADJECTIVES[] = {
    "Quiet",    "Golden", "Electric", "Broken", "Silver",  "Midnight", "Endless", "Velvet",
    "Wild",     "Hollow", "Neon",     "Lonely", "Burning", "Gentle",   "Crimson", "Paper",
    "Northern", "Secret", "Restless", "Bright", "Distant", "Sweet",    "Frozen",  "Lucky",
    "Falling",  "Hidden", "Summer",   "Blue",   "Savage",  "Tender",   "Cosmic",  "Rusty",
};
static const char *const NOUNS[] = {
    "Hours",   "Rivers",  "Hearts",   "Lights",  "Wolves", "Roads",     "Dreams",  "Echoes",
    "Mirrors", "Horses",  "Shadows",  "Stars",   "Waves",  "Bells",     "Flowers", "Machines",
    "Ghosts",  "Kings",   "Sparrows", "Streets", "Oceans", "Cities",    "Fires",   "Gardens",
    "Letters", "Windows", "Clouds",   "Tigers",  "Saints", "Strangers", "Engines", "Moons",
};
static const char *const SINGULAR[] = {
    "Love", "Night", "Heart", "Road",  "River", "Light", "Dream", "Rain",  "Fire",   "Home",
    "Girl", "Boy",   "Town",  "Sky",   "Sea",   "Song",  "Time",  "Train", "Window", "Summer",
    "Moon", "Sun",   "Door",  "Storm", "Dance", "Heat",  "Money", "Angel", "Ghost",  "Island",
};
static const char *const VERBS[] = {
    "Hold",  "Call",  "Chase", "Find",  "Leave", "Burn",  "Save",  "Follow", "Remember",
    "Break", "Dance", "Wait",  "Carry", "Meet",  "Touch", "Light", "Keep",   "Forget",
};

/* ---- random numbers ---------------------------------------------------------------------- */

static uint32_t pick(uint64_t *state, uint32_t n)
{
    return (uint32_t)(splitmix64_uniform(state) * n);
}

static double normal(uint64_t *state)
{
    double u = splitmix64_uniform(state), v = splitmix64_uniform(state);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- artists and songs ------------------------------------------------------------------- */

struct artist {
    char name[64];
    uint32_t genre;
    double year;   /* career centre */
    double offset; /* a small personal shift of the audio features */
};

static void make_artist(struct artist *a, uint32_t index, uint64_t *rng)
{
    a->genre = pick(rng, SYNTH_N_GENRES);
    const struct genre *g = &GENRES[a->genre];
    a->year = clamp(g->year + g->year_sd * normal(rng), 1921, 2020);
    a->offset = 0.05 * normal(rng);
    uint32_t form = pick(rng, 10);
    if (form < 5)
        snprintf(a->name, sizeof a->name, "%s %s", FIRST[pick(rng, COUNT(FIRST))],
                 LAST[pick(rng, COUNT(LAST))]);
    else if (form < 8)
        snprintf(a->name, sizeof a->name, "The %s %s", ADJECTIVES[pick(rng, COUNT(ADJECTIVES))],
                 NOUNS[pick(rng, COUNT(NOUNS))]);
    else if (form < 9)
        snprintf(a->name, sizeof a->name, "%s's %s", FIRST[pick(rng, COUNT(FIRST))],
                 NOUNS[pick(rng, COUNT(NOUNS))]);
    else
        snprintf(a->name, sizeof a->name, "%s & the %s", FIRST[pick(rng, COUNT(FIRST))],
                 NOUNS[pick(rng, COUNT(NOUNS))]);
    /* Keep names distinct enough: every 7th artist carries a number, like "Ada Lane 2". */
    if (index % 7 == 6) {
        size_t len = strlen(a->name);
        snprintf(a->name + len, sizeof a->name - len, " %u", index / 7 % 97 + 2);
    }
}

static void make_title(char *out, size_t len, uint64_t *rng)
{
    switch (pick(rng, 8)) {
    case 0:
        snprintf(out, len, "%s %s", ADJECTIVES[pick(rng, COUNT(ADJECTIVES))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))]);
        break;
    case 1:
        snprintf(out, len, "%s of %s", SINGULAR[pick(rng, COUNT(SINGULAR))],
                 NOUNS[pick(rng, COUNT(NOUNS))]);
        break;
    case 2:
        snprintf(out, len, "%s the %s", VERBS[pick(rng, COUNT(VERBS))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))]);
        break;
    case 3:
        snprintf(out, len, "%s My %s", VERBS[pick(rng, COUNT(VERBS))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))]);
        break;
    case 4:
        snprintf(out, len, "%s, %s", SINGULAR[pick(rng, COUNT(SINGULAR))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))]);
        break;
    case 5:
        snprintf(out, len, "Don't %s the %s", VERBS[pick(rng, COUNT(VERBS))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))]);
        break;
    case 6:
        snprintf(out, len, "\"%s\" %s", ADJECTIVES[pick(rng, COUNT(ADJECTIVES))],
                 NOUNS[pick(rng, COUNT(NOUNS))]);
        break;
    default:
        snprintf(out, len, "%s %s %s", ADJECTIVES[pick(rng, COUNT(ADJECTIVES))],
                 SINGULAR[pick(rng, COUNT(SINGULAR))], NOUNS[pick(rng, COUNT(NOUNS))]);
        break;
    }
}

static void make_id(char *out, uint64_t *rng)
{
    static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 22; i++)
        out[i] = BASE62[splitmix64_next(rng) % 62];
    out[22] = '\0';
}

/* One song as written: everything a row needs. */
struct song {
    char id[23], isrc[13], title[96];
    const struct artist *artists[2];
    int n_artists;
    double valence, acousticness, danceability, energy, instrumentalness, liveness, loudness,
        speechiness, tempo;
    int year, month, day, date_form, key, mode, explicit_, popularity;
    uint32_t duration_ms;
    uint32_t genre;
};

static void make_song(struct song *s, const struct artist *pool, uint32_t n_pool, uint64_t *rng)
{
    const struct artist *a = &pool[pick(rng, n_pool)];
    const struct genre *g = &GENRES[a->genre];
    memset(s, 0, sizeof *s);
    make_id(s->id, rng);
    make_title(s->title, sizeof s->title, rng);
    s->artists[0] = a;
    s->n_artists = 1;
    if (splitmix64_uniform(rng) < 0.15) {
        /* A featured artist, from the same genre when one is near in the pool. */
        uint32_t at = pick(rng, n_pool);
        for (uint32_t probe = 0; probe < 16 && pool[at].genre != a->genre; probe++)
            at = (at + 1) % n_pool;
        if (&pool[at] != a)
            s->artists[s->n_artists++] = &pool[at];
    }
    double o = a->offset;
    s->valence = clamp(g->valence + o + 0.12 * normal(rng), 0, 1);
    s->acousticness = clamp(g->acousticness + o + 0.10 * normal(rng), 0, 1);
    s->danceability = clamp(g->danceability - o + 0.08 * normal(rng), 0, 1);
    s->energy = clamp(g->energy - o + 0.08 * normal(rng), 0, 1);
    s->instrumentalness = clamp(g->instrumentalness + 0.10 * normal(rng), 0, 1);
    s->liveness = clamp(g->liveness + 0.08 * fabs(normal(rng)), 0, 1);
    s->loudness = clamp(g->loudness + 2.5 * normal(rng), -60, 3);
    s->speechiness = clamp(g->speechiness + 0.03 * normal(rng), 0, 1);
    s->tempo = clamp(g->tempo + 12 * normal(rng), 40, 220);
    s->year = (int)clamp(a->year + 4 * normal(rng), 1921, 2020);
    s->month = 1 + (int)pick(rng, 12);
    s->day = 1 + (int)pick(rng, 28);
    s->date_form = (int)pick(rng, 3);
    s->key = (int)pick(rng, 12);
    s->mode = splitmix64_uniform(rng) < g->p_major;
    s->explicit_ = splitmix64_uniform(rng) < g->p_explicit;
    s->popularity = (int)clamp(g->popularity + 15 * normal(rng), 0, 100);
    s->duration_ms = (uint32_t)clamp(1000 * (g->duration_s + 40 * normal(rng)), 30000, 1200000);
    s->genre = a->genre;
    static const char *const COUNTRIES[] = {"US", "GB", "SE", "DE", "FR", "JP", "BR", "KR"};
    snprintf(s->isrc, sizeof s->isrc, "%s%c%c%c%02d%05u", COUNTRIES[pick(rng, COUNT(COUNTRIES))],
             'A' + (char)pick(rng, 26), 'A' + (char)pick(rng, 26), '0' + (char)pick(rng, 10),
             s->year % 100, pick(rng, 100000));
}

/* A second release: new id, same song; near-equal duration, a later year sometimes. */
static void make_release(struct song *s, uint64_t *rng)
{
    make_id(s->id, rng);
    int shift_ms = (int)pick(rng, 3001) - 1500;
    s->duration_ms = (uint32_t)((int)s->duration_ms + shift_ms);
    s->popularity = (int)clamp(s->popularity - 5 - 10 * splitmix64_uniform(rng), 0, 100);
    s->energy = clamp(s->energy + 0.004 * normal(rng), 0, 1);
    s->loudness = clamp(s->loudness + 0.1 * normal(rng), -60, 3);
    if (splitmix64_uniform(rng) < 0.5) {
        int later = s->year + (int)pick(rng, 20);
        s->year = later > 2020 ? 2020 : later;
    }
}

/* Appends text as one CSV field, quoted when it holds a comma, quote or newline. */
static size_t csv_field(char *out, size_t at, size_t cap, const char *text)
{
    bool quote = strpbrk(text, ",\"\n") != NULL;
    if (quote && at < cap)
        out[at++] = '"';
    for (const char *p = text; *p && at + 2 < cap; p++) {
        if (*p == '"')
            out[at++] = '"';
        out[at++] = *p;
    }
    if (quote && at < cap)
        out[at++] = '"';
    return at;
}

/* The Python repr of a list of names: ['A', "B's"]. */
static void python_list(char *out, size_t cap, const struct song *s)
{
    size_t at = 0;
    out[at++] = '[';
    for (int i = 0; i < s->n_artists; i++) {
        const char *name = s->artists[i]->name;
        char q = strchr(name, '\'') ? '"' : '\'';
        at += (size_t)snprintf(out + at, cap - at, "%s%c%s%c", i ? ", " : "", q, name, q);
    }
    snprintf(out + at, cap - at, "]");
}

static int write_song(gzFile out, const struct song *s)
{
    char line[1024], list[256], date[16];
    python_list(list, sizeof list, s);
    if (s->date_form == 0)
        snprintf(date, sizeof date, "%04d", s->year);
    else if (s->date_form == 1)
        snprintf(date, sizeof date, "%04d-%02d", s->year, s->month);
    else
        snprintf(date, sizeof date, "%04d-%02d-%02d", s->year, s->month, s->day);
    /* valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,
     * instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,
     * tempo,genre,isrc */
    size_t at =
        (size_t)snprintf(line, sizeof line, "%.4g,%d,%.4g,", s->valence, s->year, s->acousticness);
    at = csv_field(line, at, sizeof line, list);
    at += (size_t)snprintf(line + at, sizeof line - at, ",%.4g,%u,%.4g,%d,%s,%.4g,%d,%.4g,%.3f,%d,",
                           s->danceability, s->duration_ms, s->energy, s->explicit_, s->id,
                           s->instrumentalness, s->key, s->liveness, s->loudness, s->mode);
    at = csv_field(line, at, sizeof line, s->title);
    at += (size_t)snprintf(line + at, sizeof line - at, ",%d,%s,%.4g,%.3f,", s->popularity, date,
                           s->speechiness, s->tempo);
    at = csv_field(line, at, sizeof line, GENRES[s->genre].name);
    at += (size_t)snprintf(line + at, sizeof line - at, ",%s\n", s->isrc);
    return gzwrite(out, line, (unsigned)at) == (int)at ? 0 : -1;
}

const char *synth_strerror(enum synth_status status)
{
    switch (status) {
    case SYNTH_OK:
        return "ok";
    case SYNTH_ERR_INVALID:
        return "invalid synth request";
    case SYNTH_ERR_IO:
        return "cannot write the catalog";
    case SYNTH_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown synth status";
}

enum synth_status synth_write(const char *path, uint64_t rows, uint64_t seed,
                              void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                              char *err, size_t err_len)
{
    enum synth_status result = SYNTH_ERR_IO;
    struct artist *pool = NULL;
    gzFile out = NULL;
    if (rows == 0 || rows > SYNTH_MAX_ROWS) {
        errbuf_set(err, err_len, "synth: --rows %llu outside 1..%u", (unsigned long long)rows,
                   SYNTH_MAX_ROWS);
        return SYNTH_ERR_INVALID;
    }
    size_t len = strlen(path);
    bool gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;
    errno = 0;
    out = gzopen(path, gz ? "wb6" : "wbT");
    if (!out) {
        errbuf_set(err, err_len, "synth: cannot create %s: %s", path,
                   errno ? strerror(errno) : "zlib could not open it");
        return SYNTH_ERR_IO;
    }
    gzbuffer(out, 1u << 20);

    uint64_t rng = seed ^ 0x5eed5eed5eed5eedull;
    uint32_t n_pool = (uint32_t)(rows / 12 < 40 ? 40 : (rows / 12 > 2000000 ? 2000000 : rows / 12));
    pool = malloc(n_pool * sizeof *pool);
    if (!pool) {
        errbuf_set(err, err_len, "synth: out of memory for %u artists", n_pool);
        result = SYNTH_ERR_NOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < n_pool; i++)
        make_artist(&pool[i], i, &rng);

    static const char HEADER[] =
        "valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,"
        "instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,"
        "tempo,genre,isrc\n";
    if (gzwrite(out, HEADER, sizeof HEADER - 1) != (int)(sizeof HEADER - 1))
        goto write_failed;
    uint64_t written = 0;
    while (written < rows) {
        struct song s;
        make_song(&s, pool, n_pool, &rng);
        if (write_song(out, &s) != 0)
            goto write_failed;
        written++;
        if (written < rows && splitmix64_uniform(&rng) < SYNTH_DUP_RATE) {
            make_release(&s, &rng);
            if (write_song(out, &s) != 0)
                goto write_failed;
            written++;
        }
        if (progress && written % 65536 == 0)
            progress(ctx, written, rows);
    }
    if (gzclose(out) != Z_OK) {
        out = NULL;
        goto write_failed;
    }
    out = NULL;
    if (progress)
        progress(ctx, rows, rows);
    result = SYNTH_OK;
    goto done;
write_failed:
    errbuf_set(err, err_len, "synth: cannot write %s: %s", path,
               errno ? strerror(errno) : "zlib error");
done:
    if (out)
        gzclose(out);
    free(pool);
    return result;
}

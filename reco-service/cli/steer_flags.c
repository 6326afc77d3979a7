/* reco-cli's steering flags (steer_flags.h): their rows of the options table, the --years
 * parser, and the request fields they set. */
#include "steer_flags.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

void steer_flags_init(struct steer_flags *flags)
{
    *flags = (struct steer_flags){.discover = NAN,
                                  .energy = NAN,
                                  .valence = NAN,
                                  .danceability = NAN,
                                  .tempo = NAN,
                                  .years = NULL,
                                  .no_explicit = false};
}

void steer_flags_specs(struct steer_flags *flags, struct option_spec out[STEER_FLAGS_COUNT])
{
    const struct option_spec specs[STEER_FLAGS_COUNT] = {
        {"discover", 0, NULL, OPTION_DOUBLE, NULL, 0, 1,
         "0: saved artists first (the default) .. 1: new artists only (recommend)",
         &flags->discover},
        {"energy", 0, NULL, OPTION_DOUBLE, NULL, 0, 1, "mood target for energy, 0..1",
         &flags->energy},
        {"valence", 0, NULL, OPTION_DOUBLE, NULL, 0, 1,
         "mood target for valence (0 sad .. 1 happy)", &flags->valence},
        {"danceability", 0, NULL, OPTION_DOUBLE, NULL, 0, 1, "mood target for danceability, 0..1",
         &flags->danceability},
        {"tempo", 0, NULL, OPTION_DOUBLE, NULL, RECO_MIN_TEMPO, RECO_MAX_TEMPO,
         "target tempo in BPM, 1..300", &flags->tempo},
        {"years", 0, NULL, OPTION_STRING, NULL, 0, 0,
         "release years FROM-TO (1990-1999, 1990-, -1999 or 1995)", &flags->years},
        {"no-explicit", 0, NULL, OPTION_BOOL, "false", 0, 0, "leave out songs marked explicit",
         &flags->no_explicit},
    };
    memcpy(out, specs, sizeof specs);
}

/* One year of a range: all digits, RECO_MIN_YEAR..RECO_MAX_YEAR. */
static bool read_year(const char *text, size_t len, uint32_t *year)
{
    if (len == 0 || len > 4 || strspn(text, "0123456789") < len)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (uint32_t)(text[i] - '0');
    if (v < RECO_MIN_YEAR || v > RECO_MAX_YEAR)
        return false;
    *year = v;
    return true;
}

int steer_flags_years(const char *text, uint32_t *from, uint32_t *to, char *err, size_t err_len)
{
    const char *dash = strchr(text, '-');
    uint32_t a = 0, b = 0;
    bool ok;
    if (!dash) {
        ok = read_year(text, strlen(text), &a);
        b = a;
    } else {
        size_t first = (size_t)(dash - text), second = strlen(dash + 1);
        ok = (first > 0 || second > 0) && (first == 0 || read_year(text, first, &a)) &&
             (second == 0 || read_year(dash + 1, second, &b));
    }
    if (!ok) {
        errbuf_set(err, err_len,
                   "--years: '%.40s' is not FROM-TO with years %u..%u (1990-1999, 1990-, -1999 "
                   "or 1995)",
                   text, RECO_MIN_YEAR, RECO_MAX_YEAR);
        return -1;
    }
    if (a && b && a > b) {
        errbuf_set(err, err_len, "--years: %u comes after %u (FROM-TO, FROM first)", a, b);
        return -1;
    }
    *from = a;
    *to = b;
    return 0;
}

int steer_flags_apply(const struct steer_flags *flags, struct reco_rpc_request *req, char *err,
                      size_t err_len)
{
    uint32_t from = 0, to = 0;
    if (flags->years && steer_flags_years(flags->years, &from, &to, err, err_len) != 0)
        return -1;
    req->year_from = from;
    req->year_to = to;
    req->has_discover = !isnan(flags->discover);
    req->discover = req->has_discover ? (float)flags->discover : 0.0f;
    const double values[] = {flags->energy, flags->valence, flags->danceability, flags->tempo};
    struct reco_rpc_target *targets[] = {&req->energy, &req->valence, &req->danceability,
                                         &req->tempo};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        *targets[i] = (struct reco_rpc_target){.set = !isnan(values[i]),
                                               .value = isnan(values[i]) ? 0.0f : (float)values[i]};
    req->no_explicit = flags->no_explicit;
    return 0;
}

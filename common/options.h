/* One table of options (name, environment variable, default, bounds, help) feeds the command
 * line, the environment and --help, for every program in the project. */
#ifndef MIXTAPE_OPTIONS_H
#define MIXTAPE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

enum option_type { OPTION_STRING, OPTION_INT, OPTION_BOOL, OPTION_DOUBLE };

struct option_spec {
    const char *name; /* long flag without dashes: "listen" is --listen */
    char short_name;  /* single-letter flag such as 'n' for -n, or 0 */
    const char *env;  /* environment variable, or NULL */
    enum option_type type;
    const char *def;  /* default as text, or NULL for "unset" */
    double min, max;  /* inclusive bounds for OPTION_INT and OPTION_DOUBLE */
    const char *help; /* one line */
    void *target;     /* const char **, long long *, bool *, or double * */
};

/* Outcome of options_parse. */
enum options_result { OPTIONS_OK = 0, OPTIONS_HELP = 1, OPTIONS_ERROR = 2 };

/* Fills every target from, in order of precedence, the command line (--name VALUE,
 * --name=VALUE, -x VALUE, and --name alone for booleans), the environment, then the default.
 * Arguments that are not options are collected in order into positional[] (caller-owned, at
 * least argc entries; the strings point into argv) and counted in *n_positional.
 * argv[0] is the program name and is skipped.
 * A bad value, an unknown flag or a value out of bounds prints one line naming the option and
 * the rule to stderr and returns OPTIONS_ERROR; --help or -h prints the table to stdout and
 * returns OPTIONS_HELP. Strings handed back point into argv, environ or the table. */
enum options_result options_parse(const struct option_spec *specs, size_t n_specs, int argc,
                                  char **argv, const char *usage, char **positional,
                                  int *n_positional);

/* Prints usage and one line per option (flag, environment variable, default, help). */
void options_print_help(const struct option_spec *specs, size_t n_specs, const char *usage);

#endif

/* Command-line and environment options from one table: see options.h. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int assign(const struct option_spec *spec, const char *value, const char *origin)
{
    char *end = NULL;
    switch (spec->type) {
    case OPTION_STRING:
        *(const char **)spec->target = value;
        return 0;
    case OPTION_BOOL:
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
            strcmp(value, "on") == 0) {
            *(bool *)spec->target = true;
            return 0;
        }
        if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
            strcmp(value, "off") == 0) {
            *(bool *)spec->target = false;
            return 0;
        }
        fprintf(stderr, "option --%s (%s): '%s' is not a boolean (use true or false)\n", spec->name,
                origin, value);
        return -1;
    case OPTION_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            fprintf(stderr, "option --%s (%s): '%s' is not a whole number\n", spec->name, origin,
                    value);
            return -1;
        }
        if ((double)v < spec->min || (double)v > spec->max) {
            fprintf(stderr, "option --%s (%s): %lld is outside %.0f..%.0f\n", spec->name, origin, v,
                    spec->min, spec->max);
            return -1;
        }
        *(long long *)spec->target = v;
        return 0;
    }
    case OPTION_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno != 0 || end == value || *end != '\0' || !isfinite(v)) {
            fprintf(stderr, "option --%s (%s): '%s' is not a number\n", spec->name, origin, value);
            return -1;
        }
        if (v < spec->min || v > spec->max) {
            fprintf(stderr, "option --%s (%s): %g is outside %g..%g\n", spec->name, origin, v,
                    spec->min, spec->max);
            return -1;
        }
        *(double *)spec->target = v;
        return 0;
    }
    }
    return -1;
}

static const struct option_spec *find_long(const struct option_spec *specs, size_t n,
                                           const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

static const struct option_spec *find_short(const struct option_spec *specs, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (specs[i].short_name == c)
            return &specs[i];
    return NULL;
}

void options_print_help(const struct option_spec *specs, size_t n_specs, const char *usage)
{
    printf("%s\n\nOptions (a flag wins over its environment variable):\n", usage);
    for (size_t i = 0; i < n_specs; i++) {
        const struct option_spec *s = &specs[i];
        char flag[64];
        if (s->short_name)
            snprintf(flag, sizeof flag, "-%c, --%s", s->short_name, s->name);
        else
            snprintf(flag, sizeof flag, "    --%s", s->name);
        printf("  %-26s %s", flag, s->help);
        if (s->env)
            printf(" [env %s]", s->env);
        if (s->def)
            printf(" [default %s]", s->def);
        printf("\n");
    }
    printf("  %-26s %s\n", "-h, --help", "print this help and exit");
}

enum options_result options_parse(const struct option_spec *specs, size_t n_specs, int argc,
                                  char **argv, const char *usage, char **positional,
                                  int *n_positional)
{
    /* Which options the command line set, so the environment and defaults skip them. */
    bool set_by_flag[64] = {false};
    if (n_specs > 64) {
        fprintf(stderr, "options: too many options in the table (%zu > 64)\n", n_specs);
        return OPTIONS_ERROR;
    }
    *n_positional = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct option_spec *spec = NULL;
        const char *value = NULL;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            options_print_help(specs, n_specs, usage);
            return OPTIONS_HELP;
        }
        if (strcmp(arg, "--") == 0) {
            while (++i < argc)
                positional[(*n_positional)++] = argv[i];
            break;
        }
        if (strncmp(arg, "--", 2) == 0) {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            spec = find_long(specs, n_specs, name, len);
            if (!spec) {
                fprintf(stderr, "unknown option --%.*s (see --help)\n", (int)len, name);
                return OPTIONS_ERROR;
            }
            if (eq)
                value = eq + 1;
        } else if (arg[0] == '-' && arg[1] != '\0' && arg[2] == '\0') {
            spec = find_short(specs, n_specs, arg[1]);
            if (!spec) {
                fprintf(stderr, "unknown option %s (see --help)\n", arg);
                return OPTIONS_ERROR;
            }
        } else {
            positional[(*n_positional)++] = argv[i];
            continue;
        }

        if (!value) {
            if (spec->type == OPTION_BOOL) {
                value = "true";
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "option --%s needs a value\n", spec->name);
                return OPTIONS_ERROR;
            }
        }
        if (assign(spec, value, "command line") != 0)
            return OPTIONS_ERROR;
        set_by_flag[spec - specs] = true;
    }

    for (size_t i = 0; i < n_specs; i++) {
        if (set_by_flag[i])
            continue;
        const char *env = specs[i].env ? getenv(specs[i].env) : NULL;
        if (env && *env) {
            char origin[96];
            snprintf(origin, sizeof origin, "environment %s", specs[i].env);
            if (assign(&specs[i], env, origin) != 0)
                return OPTIONS_ERROR;
        } else if (specs[i].def) {
            if (assign(&specs[i], specs[i].def, "default") != 0)
                return OPTIONS_ERROR;
        }
    }
    return OPTIONS_OK;
}

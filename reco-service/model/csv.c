/* The streaming CSV reader (csv.h): a byte-at-a-time RFC-4180 state machine over a refillable
 * buffer fed by gzread (plain files pass through zlib unchanged) or by a memory block. */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "errbuf.h"

#define INPUT_CHUNK (256u * 1024u)

struct csv_reader {
    struct csv_limits limits;
    gzFile gz; /* NULL when reading memory */
    const unsigned char *input;
    size_t input_len, input_pos;
    unsigned char *chunk; /* gz input buffer */
    bool eof, io_error;
    uint64_t line; /* current physical line */
    char *record;  /* fields, each NUL-terminated */
    size_t record_len;
    char **field;
    size_t *field_len;
    size_t n_fields;
};

const char *csv_strerror(enum csv_status status)
{
    switch (status) {
    case CSV_OK:
        return "ok";
    case CSV_END:
        return "end of file";
    case CSV_ERR_IO:
        return "read error";
    case CSV_ERR_RECORD_LIMIT:
        return "record too long";
    case CSV_ERR_FIELD_LIMIT:
        return "field too long";
    case CSV_ERR_FIELD_COUNT:
        return "too many fields";
    case CSV_ERR_QUOTE:
        return "bad quoting";
    case CSV_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown csv status";
}

static enum csv_status make_reader(const struct csv_limits *limits, struct csv_reader **out)
{
    struct csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return CSV_ERR_NOMEM;
    r->limits =
        limits ? *limits
               : (struct csv_limits){CSV_MAX_RECORD_BYTES, CSV_MAX_FIELD_BYTES, CSV_MAX_FIELDS};
    if (r->limits.max_fields == 0)
        r->limits.max_fields = 1;
    /* Room for every byte plus one NUL per field. */
    r->record = malloc(r->limits.max_record_bytes + r->limits.max_fields + 1);
    r->field = malloc((r->limits.max_fields + 1) * sizeof *r->field);
    r->field_len = malloc((r->limits.max_fields + 1) * sizeof *r->field_len);
    if (!r->record || !r->field || !r->field_len) {
        csv_close(r);
        return CSV_ERR_NOMEM;
    }
    r->line = 1;
    *out = r;
    return CSV_OK;
}

enum csv_status csv_open_file(const char *path, const struct csv_limits *limits,
                              struct csv_reader **out, char *err, size_t err_len)
{
    struct csv_reader *r = NULL;
    enum csv_status status = make_reader(limits, &r);
    if (status != CSV_OK) {
        errbuf_set(err, err_len, "%s: out of memory", path);
        return status;
    }
    r->chunk = malloc(INPUT_CHUNK);
    errno = 0;
    r->gz = r->chunk ? gzopen(path, "rb") : NULL;
    if (!r->gz) {
        errbuf_set(err, err_len, "%s: cannot open: %s", path,
                   r->chunk ? (errno ? strerror(errno) : "zlib could not open it")
                            : "out of memory");
        csv_close(r);
        return CSV_ERR_IO;
    }
    gzbuffer(r->gz, INPUT_CHUNK);
    *out = r;
    return CSV_OK;
}

enum csv_status csv_open_memory(const void *bytes, size_t len, const struct csv_limits *limits,
                                struct csv_reader **out)
{
    struct csv_reader *r = NULL;
    enum csv_status status = make_reader(limits, &r);
    if (status != CSV_OK)
        return status;
    r->input = bytes;
    r->input_len = len;
    *out = r;
    return CSV_OK;
}

void csv_close(struct csv_reader *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    free(r->chunk);
    free(r->record);
    free(r->field);
    free(r->field_len);
    free(r);
}

static bool refill(struct csv_reader *r)
{
    if (r->eof || !r->gz) {
        r->eof = true;
        return false;
    }
    int n = gzread(r->gz, r->chunk, INPUT_CHUNK);
    if (n <= 0) {
        /* A clean end leaves Z_OK; a gzip stream cut short leaves Z_BUF_ERROR, and damaged
         * data Z_DATA_ERROR: both are read errors, never a silently shorter catalog. */
        int code = Z_OK;
        gzerror(r->gz, &code);
        r->io_error = n < 0 || code != Z_OK;
        r->eof = true;
        return false;
    }
    r->input = r->chunk;
    r->input_len = (size_t)n;
    r->input_pos = 0;
    return true;
}

/* Next input byte, or -1 at the end. */
static inline int next_byte(struct csv_reader *r)
{
    if (r->input_pos == r->input_len && !refill(r))
        return -1;
    return r->input[r->input_pos++];
}

static inline int peek_byte(struct csv_reader *r)
{
    if (r->input_pos == r->input_len && !refill(r))
        return -1;
    return r->input[r->input_pos];
}

enum state { FIELD_START, UNQUOTED, QUOTED, AFTER_QUOTE, SKIP_QUOTED, SKIP_UNQUOTED };

enum csv_status csv_next(struct csv_reader *r, struct csv_record *record, char *err, size_t err_len)
{
    for (;;) {
        enum csv_status problem = CSV_OK;
        enum state state = FIELD_START;
        uint64_t start_line = r->line;
        size_t field_bytes = 0;
        bool any = false;      /* the record holds at least one byte or separator */
        bool complete = false; /* ended by a newline */
        r->record_len = 0;
        r->n_fields = 0;
        r->field[0] = r->record;

        for (;;) {
            int c = next_byte(r);
            if (c < 0) {
                if (r->io_error) {
                    errbuf_set(err, err_len, "line %llu: read error (bad gzip data?)",
                               (unsigned long long)r->line);
                    return CSV_ERR_IO;
                }
                if (state == QUOTED && problem == CSV_OK) {
                    problem = CSV_ERR_QUOTE;
                    errbuf_set(err, err_len, "line %llu: quoted field never closed",
                               (unsigned long long)start_line);
                }
                if (!any && problem == CSV_OK)
                    return CSV_END;
                break;
            }
            if (c == '\n')
                r->line++;
            bool skipping = problem != CSV_OK;
            if (skipping) {
                /* Find the end of the bad record, still honouring quotes. */
                if (state == SKIP_QUOTED) {
                    if (c == '"')
                        state = SKIP_UNQUOTED;
                } else if (c == '"') {
                    state = SKIP_QUOTED;
                } else if (c == '\n') {
                    break;
                }
                continue;
            }
            any = true;
            bool end_field = false, end_record = false;
            switch (state) {
            case FIELD_START:
                if (c == '"') {
                    state = QUOTED;
                    continue;
                }
                state = UNQUOTED;
                /* fall through */
            case UNQUOTED:
                if (c == ',') {
                    end_field = true;
                } else if (c == '\n') {
                    end_field = end_record = true;
                } else if (c == '\r' && peek_byte(r) == '\n') {
                    continue;
                }
                break;
            case QUOTED:
                if (c == '"') {
                    if (peek_byte(r) == '"') {
                        next_byte(r);
                    } else {
                        state = AFTER_QUOTE;
                        continue;
                    }
                }
                break;
            case AFTER_QUOTE:
                if (c == ',') {
                    end_field = true;
                } else if (c == '\n') {
                    end_field = end_record = true;
                } else if (c == '\r' && peek_byte(r) == '\n') {
                    continue;
                } else {
                    problem = CSV_ERR_QUOTE;
                    errbuf_set(err, err_len, "line %llu: text after a closing quote in field %zu",
                               (unsigned long long)start_line, r->n_fields + 1);
                    state = SKIP_UNQUOTED;
                    continue;
                }
                break;
            default:
                break;
            }
            if (!end_field) {
                if (field_bytes + 1 > r->limits.max_field_bytes) {
                    problem = CSV_ERR_FIELD_LIMIT;
                    errbuf_set(err, err_len, "line %llu: field %zu longer than %zu bytes",
                               (unsigned long long)start_line, r->n_fields + 1,
                               r->limits.max_field_bytes);
                } else if (r->record_len - r->n_fields + 1 > r->limits.max_record_bytes) {
                    problem = CSV_ERR_RECORD_LIMIT;
                    errbuf_set(err, err_len, "line %llu: record longer than %zu bytes",
                               (unsigned long long)start_line, r->limits.max_record_bytes);
                }
                if (problem != CSV_OK) {
                    state = state == QUOTED ? SKIP_QUOTED : SKIP_UNQUOTED;
                    if (c == '\n' && state == SKIP_UNQUOTED)
                        break;
                    continue;
                }
                r->record[r->record_len++] = (char)c;
                field_bytes++;
                continue;
            }
            /* Close the field. */
            if (r->n_fields + 1 > r->limits.max_fields) {
                problem = CSV_ERR_FIELD_COUNT;
                errbuf_set(err, err_len, "line %llu: more than %zu fields",
                           (unsigned long long)start_line, r->limits.max_fields);
                if (end_record)
                    break;
                state = SKIP_UNQUOTED;
                continue;
            }
            r->field_len[r->n_fields] = field_bytes;
            r->record[r->record_len++] = '\0';
            r->n_fields++;
            r->field[r->n_fields] = r->record + r->record_len;
            field_bytes = 0;
            state = FIELD_START;
            if (end_record) {
                complete = true;
                break;
            }
        }
        if (problem != CSV_OK) {
            record->line = start_line;
            return problem;
        }
        if (!complete) {
            /* The input ended without a final newline: close the last field. */
            if (r->n_fields + 1 > r->limits.max_fields) {
                errbuf_set(err, err_len, "line %llu: more than %zu fields",
                           (unsigned long long)start_line, r->limits.max_fields);
                record->line = start_line;
                return CSV_ERR_FIELD_COUNT;
            }
            r->field_len[r->n_fields] = field_bytes;
            r->record[r->record_len++] = '\0';
            r->n_fields++;
        }
        /* A blank line is one empty field: skip it. */
        if (r->n_fields == 1 && r->field_len[0] == 0)
            continue;
        record->n_fields = r->n_fields;
        record->field = r->field;
        record->field_len = r->field_len;
        record->line = start_line;
        return CSV_OK;
    }
}

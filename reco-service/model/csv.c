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

/* The record being read. */
struct parse {
    enum csv_status problem; /* its first error; the rest of the record is then skipped */
    enum state state;
    uint64_t start_line;
    size_t field_bytes;
    bool any;      /* the record holds at least one byte or separator */
    bool complete; /* ended by a newline */
};

/* What a byte of a good record does. */
enum step { STEP_NONE, STEP_STORE, STEP_END_FIELD, STEP_END_RECORD };

/* Skipping a bad record, still honouring quotes: true at the newline that ends it. */
static inline bool skip_byte(struct parse *p, int c)
{
    if (p->state == SKIP_QUOTED) {
        if (c == '"')
            p->state = SKIP_UNQUOTED;
    } else if (c == '"') {
        p->state = SKIP_QUOTED;
    } else if (c == '\n') {
        return true;
    }
    return false;
}

/* A byte outside quotes: a separator, a line end (CR LF read as LF), or text. */
static inline enum step plain_step(struct csv_reader *r, int c)
{
    if (c == ',')
        return STEP_END_FIELD;
    if (c == '\n')
        return STEP_END_RECORD;
    if (c == '\r' && peek_byte(r) == '\n')
        return STEP_NONE;
    return STEP_STORE;
}

/* RFC 4180 quoting: what byte c does in the current state (a doubled quote is read as one, a
 * CR before LF is dropped). Text after a closing quote sets the problem. */
static inline enum step quote_step(struct csv_reader *r, struct parse *p, int c, char *err,
                                   size_t err_len)
{
    switch (p->state) {
    case FIELD_START:
        if (c == '"') {
            p->state = QUOTED;
            return STEP_NONE;
        }
        p->state = UNQUOTED;
        /* fall through */
    case UNQUOTED:
        return plain_step(r, c);
    case QUOTED:
        if (c == '"') {
            if (peek_byte(r) != '"') {
                p->state = AFTER_QUOTE;
                return STEP_NONE;
            }
            next_byte(r);
        }
        return STEP_STORE;
    case AFTER_QUOTE: {
        enum step step = plain_step(r, c);
        if (step != STEP_STORE)
            return step;
        p->problem = CSV_ERR_QUOTE;
        errbuf_set(err, err_len, "line %llu: text after a closing quote in field %zu",
                   (unsigned long long)p->start_line, r->n_fields + 1);
        p->state = SKIP_UNQUOTED;
        return STEP_NONE;
    }
    default:
        return STEP_STORE;
    }
}

/* Appends byte c to the current field, or sets the problem when a length limit would break
 * (the record is then skipped). Returns true when that ends the record. */
static inline bool store_byte(struct csv_reader *r, struct parse *p, int c, char *err,
                              size_t err_len)
{
    if (p->field_bytes + 1 > r->limits.max_field_bytes) {
        p->problem = CSV_ERR_FIELD_LIMIT;
        errbuf_set(err, err_len, "line %llu: field %zu longer than %zu bytes",
                   (unsigned long long)p->start_line, r->n_fields + 1, r->limits.max_field_bytes);
    } else if (r->record_len - r->n_fields + 1 > r->limits.max_record_bytes) {
        p->problem = CSV_ERR_RECORD_LIMIT;
        errbuf_set(err, err_len, "line %llu: record longer than %zu bytes",
                   (unsigned long long)p->start_line, r->limits.max_record_bytes);
    }
    if (p->problem != CSV_OK) {
        p->state = p->state == QUOTED ? SKIP_QUOTED : SKIP_UNQUOTED;
        return c == '\n' && p->state == SKIP_UNQUOTED;
    }
    r->record[r->record_len++] = (char)c;
    p->field_bytes++;
    return false;
}

/* Ends the current field. Returns false (the problem set) when the record has too many. */
static inline bool close_field(struct csv_reader *r, struct parse *p, char *err, size_t err_len)
{
    if (r->n_fields + 1 > r->limits.max_fields) {
        p->problem = CSV_ERR_FIELD_COUNT;
        errbuf_set(err, err_len, "line %llu: more than %zu fields",
                   (unsigned long long)p->start_line, r->limits.max_fields);
        return false;
    }
    r->field_len[r->n_fields] = p->field_bytes;
    r->record[r->record_len++] = '\0';
    r->n_fields++;
    r->field[r->n_fields] = r->record + r->record_len;
    p->field_bytes = 0;
    p->state = FIELD_START;
    return true;
}

/* Reads up to the end of one record (a good one into r's fields, a bad one with p->problem
 * set). Returns CSV_OK when a record ended, CSV_END at the end of the input, or CSV_ERR_IO. */
static inline enum csv_status read_record(struct csv_reader *r, struct parse *p, char *err,
                                          size_t err_len)
{
    for (;;) {
        int c = next_byte(r);
        if (c < 0) {
            if (r->io_error) {
                errbuf_set(err, err_len, "line %llu: read error (bad gzip data?)",
                           (unsigned long long)r->line);
                return CSV_ERR_IO;
            }
            if (p->state == QUOTED && p->problem == CSV_OK) {
                p->problem = CSV_ERR_QUOTE;
                errbuf_set(err, err_len, "line %llu: quoted field never closed",
                           (unsigned long long)p->start_line);
            }
            return !p->any && p->problem == CSV_OK ? CSV_END : CSV_OK;
        }
        if (c == '\n')
            r->line++;
        if (p->problem != CSV_OK) {
            if (skip_byte(p, c))
                return CSV_OK;
            continue;
        }
        p->any = true;
        enum step step = quote_step(r, p, c, err, err_len);
        if (step == STEP_NONE)
            continue;
        if (step == STEP_STORE) {
            if (store_byte(r, p, c, err, err_len))
                return CSV_OK;
            continue;
        }
        if (!close_field(r, p, err, err_len)) {
            if (step == STEP_END_RECORD)
                return CSV_OK;
            p->state = SKIP_UNQUOTED;
            continue;
        }
        if (step == STEP_END_RECORD) {
            p->complete = true;
            return CSV_OK;
        }
    }
}

enum csv_status csv_next(struct csv_reader *r, struct csv_record *record, char *err, size_t err_len)
{
    for (;;) {
        struct parse p = {.problem = CSV_OK, .state = FIELD_START, .start_line = r->line};
        r->record_len = 0;
        r->n_fields = 0;
        r->field[0] = r->record;
        enum csv_status status = read_record(r, &p, err, err_len);
        if (status != CSV_OK)
            return status;
        /* The input ended without a final newline: close the last field. */
        if (p.problem == CSV_OK && !p.complete)
            close_field(r, &p, err, err_len);
        if (p.problem != CSV_OK) {
            record->line = p.start_line;
            return p.problem;
        }
        /* A blank line is one empty field: skip it. */
        if (r->n_fields == 1 && r->field_len[0] == 0)
            continue;
        record->n_fields = r->n_fields;
        record->field = r->field;
        record->field_len = r->field_len;
        record->line = p.start_line;
        return CSV_OK;
    }
}

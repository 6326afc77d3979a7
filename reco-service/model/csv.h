/* A streaming RFC-4180 CSV reader for catalog files: reads .csv and .csv.gz alike (through
 * zlib), one record at a time, with hard limits on record length, field length and field
 * count. A record that breaks a limit or the quoting rules is reported with its line number
 * and skipped, and reading goes on with the next record. */
#ifndef MIXTAPE_CSV_H
#define MIXTAPE_CSV_H

#include <stddef.h>
#include <stdint.h>

/* Defaults of struct csv_limits. */
#define CSV_MAX_RECORD_BYTES 65536u
#define CSV_MAX_FIELD_BYTES  16384u
#define CSV_MAX_FIELDS       256u

enum csv_status {
    CSV_OK = 0,
    CSV_END,              /* no more records */
    CSV_ERR_IO,           /* cannot open or read (the reader is done) */
    CSV_ERR_RECORD_LIMIT, /* record longer than max_record_bytes (skipped) */
    CSV_ERR_FIELD_LIMIT,  /* a field longer than max_field_bytes (skipped) */
    CSV_ERR_FIELD_COUNT,  /* more than max_fields fields (skipped) */
    CSV_ERR_QUOTE,        /* bad quoting: text after a closing quote, or no closing quote */
    CSV_ERR_NOMEM,
};

/* "ok", "end of file", ...; never NULL. */
const char *csv_strerror(enum csv_status status);

struct csv_limits {
    size_t max_record_bytes; /* bytes of all fields of one record */
    size_t max_field_bytes;
    size_t max_fields;
};

/* One record. Fields are NUL-terminated (an embedded NUL ends the field early for C string
 * users; field_len has the full length). Valid until the next csv_next or csv_close. */
struct csv_record {
    size_t n_fields;
    char **field;
    const size_t *field_len;
    uint64_t line; /* physical line the record starts on, from 1 */
};

struct csv_reader;

/* Opens path (plain or gzip). limits may be NULL for the defaults. On CSV_OK writes *out
 * (free with csv_close); otherwise writes a one-line reason into err. Blocks on I/O. */
enum csv_status csv_open_file(const char *path, const struct csv_limits *limits,
                              struct csv_reader **out, char *err, size_t err_len);

/* Reads from a caller-owned buffer that must outlive the reader (for tests and fuzzing). */
enum csv_status csv_open_memory(const void *bytes, size_t len, const struct csv_limits *limits,
                                struct csv_reader **out);

/* Reads the next record into *record. Returns CSV_OK, CSV_END, or an error: for the limit and
 * quote errors err names the line and the limit, the bad record has been skipped and the
 * next call reads on; CSV_ERR_IO and CSV_ERR_NOMEM end the reading. Blank lines are skipped. */
enum csv_status csv_next(struct csv_reader *reader, struct csv_record *record, char *err,
                         size_t err_len);

/* Closes and frees. NULL is ignored. */
void csv_close(struct csv_reader *reader);

#endif

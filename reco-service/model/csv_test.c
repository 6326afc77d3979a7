/* Tests of the CSV reader: a table of inputs and the transcript of records and errors each
 * must give (quoting, CRLF, blank lines, missing final newline, every limit with its line
 * number, recovery after a bad record), plus reading plain and gzip files from disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "csv.h"

/* Reads everything and writes "line:f1|f2;" per record and "line:E<status>;" per error. */
static void transcript(struct csv_reader *r, char *out, size_t cap, char *last_err)
{
    size_t used = 0;
    out[0] = '\0';
    for (;;) {
        struct csv_record rec;
        char err[256] = "";
        enum csv_status s = csv_next(r, &rec, err, sizeof err);
        if (s == CSV_END)
            break;
        if (s != CSV_OK) {
            used += (size_t)snprintf(out + used, cap - used, "%llu:E%d;",
                                     (unsigned long long)rec.line, (int)s);
            if (last_err)
                strcpy(last_err, err);
            if (s == CSV_ERR_IO || s == CSV_ERR_NOMEM)
                break;
            continue;
        }
        used += (size_t)snprintf(out + used, cap - used, "%llu:", (unsigned long long)rec.line);
        for (size_t i = 0; i < rec.n_fields; i++)
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "|" : "", rec.field[i]);
        used += (size_t)snprintf(out + used, cap - used, ";");
    }
}

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        size_t max_record, max_field, max_fields; /* 0: defaults */
        const char *want;
        const char *err_has; /* substring of the last error message, or NULL */
    } CASES[] = {
        {"a,b,c\n1,2,3\n", 0, 0, 0, "1:a|b|c;2:1|2|3;", NULL},
        {"a,b\n1,2", 0, 0, 0, "1:a|b;2:1|2;", NULL},       /* no final newline */
        {"a,b\r\n1,2\r\n", 0, 0, 0, "1:a|b;2:1|2;", NULL}, /* CRLF */
        {"a\n\n\nb\n", 0, 0, 0, "1:a;4:b;", NULL},         /* blank lines */
        {"\"x,y\",\"say \"\"hi\"\"\"\n", 0, 0, 0, "1:x,y|say \"hi\";", NULL},
        {"\"two\nlines\",z\nnext\n", 0, 0, 0, "1:two\nlines|z;3:next;", NULL},
        {"a,,c,\n", 0, 0, 0, "1:a||c|;", NULL}, /* empty fields */
        {"a,b,\n", 0, 0, 0, "1:a|b|;", NULL},
        {"a,b,", 0, 0, 0, "1:a|b|;", NULL},
        {"\"\"\n", 0, 0, 0, "", NULL}, /* one empty quoted field is a blank record */
        {"\"[\"\"Destiny's Child\"\"]\",1\n", 0, 0, 0, "1:[\"Destiny's Child\"]|1;", NULL},
        {"\"ab\"c,d\nok\n", 0, 0, 0, "1:E6;2:ok;", "line 1: text after a closing quote"},
        {"ok\n\"never closed,\n", 0, 0, 0, "1:ok;2:E6;", "line 2: quoted field never closed"},
        {"abcdef,g\nxy\n", 0, 5, 0, "1:E4;2:xy;", "line 1: field 1 longer than 5 bytes"},
        {"ab,cd,ef\nxy\n", 5, 0, 0, "1:E3;2:xy;", "line 1: record longer than 5 bytes"},
        {"a,b,c\nx,y\n", 0, 0, 2, "1:E5;2:x|y;", "line 1: more than 2 fields"},
        {"x\na,b,c", 0, 0, 2, "1:x;2:E5;", "line 2: more than 2 fields"},
        {"\"long\nquoted,field\",x\nnext\n", 0, 6, 0, "1:E4;3:next;", "field 1 longer than 6"},
        {"", 0, 0, 0, "", NULL},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct csv_limits limits = {CASES[i].max_record ? CASES[i].max_record
                                                        : CSV_MAX_RECORD_BYTES,
                                    CASES[i].max_field ? CASES[i].max_field : CSV_MAX_FIELD_BYTES,
                                    CASES[i].max_fields ? CASES[i].max_fields : CSV_MAX_FIELDS};
        struct csv_reader *r = NULL;
        assert_int_equal(csv_open_memory(CASES[i].input, strlen(CASES[i].input), &limits, &r),
                         CSV_OK);
        char got[512], err[256] = "";
        transcript(r, got, sizeof got, err);
        csv_close(r);
        if (strcmp(got, CASES[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, CASES[i].want);
        if (CASES[i].err_has && !strstr(err, CASES[i].err_has))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, CASES[i].err_has);
    }
}

static void test_files_plain_and_gzip(void **state)
{
    (void)state;
    static const char TEXT[] = "id,name\nabc,\"Hello, World\"\ndef,plain\n";
    char plain[64], gz[64];
    snprintf(plain, sizeof plain, "/tmp/csv_test_%d.csv", (int)getpid());
    snprintf(gz, sizeof gz, "/tmp/csv_test_%d.csv.gz", (int)getpid());
    FILE *f = fopen(plain, "wb");
    fputs(TEXT, f);
    fclose(f);
    gzFile g = gzopen(gz, "wb");
    gzwrite(g, TEXT, sizeof TEXT - 1);
    gzclose(g);
    const char *paths[] = {plain, gz};
    for (int i = 0; i < 2; i++) {
        struct csv_reader *r = NULL;
        char err[256], got[256];
        assert_int_equal(csv_open_file(paths[i], NULL, &r, err, sizeof err), CSV_OK);
        transcript(r, got, sizeof got, NULL);
        csv_close(r);
        assert_string_equal(got, "1:id|name;2:abc|Hello, World;3:def|plain;");
    }
    remove(plain);
    remove(gz);
    struct csv_reader *r = NULL;
    char err[256];
    assert_int_equal(csv_open_file("/nonexistent/x.csv", NULL, &r, err, sizeof err), CSV_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.csv"));
}

static void test_corrupt_gzip_is_an_io_error(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/csv_test_bad_%d.csv.gz", (int)getpid());
    gzFile g = gzopen(path, "wb");
    for (int i = 0; i < 2000; i++)
        gzprintf(g, "row%d,value%d\n", i, i * 7919);
    gzclose(g);
    /* Damage the compressed body. */
    FILE *f = fopen(path, "r+b");
    fseek(f, 40, SEEK_SET);
    for (int i = 0; i < 64; i++)
        fputc(0x55, f);
    fclose(f);
    struct csv_reader *r = NULL;
    char err[256], got[65536];
    assert_int_equal(csv_open_file(path, NULL, &r, err, sizeof err), CSV_OK);
    err[0] = '\0';
    transcript(r, got, sizeof got, err);
    csv_close(r);
    remove(path);
    assert_non_null(strstr(got, ":E2;"));
    assert_non_null(strstr(err, "read error"));
}

static void test_truncated_gzip_is_an_io_error(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/csv_test_cut_%d.csv.gz", (int)getpid());
    gzFile g = gzopen(path, "wb");
    for (int i = 0; i < 5000; i++)
        gzprintf(g, "row%d,value%d\n", i, i * 7919);
    gzclose(g);
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, size / 2), 0);
    struct csv_reader *r = NULL;
    char err[256] = "", got[262144];
    assert_int_equal(csv_open_file(path, NULL, &r, err, sizeof err), CSV_OK);
    transcript(r, got, sizeof got, err);
    csv_close(r);
    remove(path);
    assert_non_null(strstr(got, ":E2;"));
    assert_non_null(strstr(err, "read error"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_files_plain_and_gzip),
        cmocka_unit_test(test_corrupt_gzip_is_an_io_error),
        cmocka_unit_test(test_truncated_gzip_is_an_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

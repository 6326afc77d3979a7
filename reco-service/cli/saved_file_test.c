/* Tests of reading saved tracks for reco-cli: ids, URIs and URLs; CSV headers and artists
 * cells; YourLibrary.json and Web API pages; and the errors that name the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saved_file.h"

#define ID_A "4uLU6hMCjMI75M1A2tKUQC"
#define ID_B "0VjIjW4GlUZAMYd2vXMi3b"

static void test_track_ids(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* NULL: refused */
    } cases[] = {
        {ID_A, ID_A},
        {"  " ID_A "\r", ID_A},
        {"spotify:track:" ID_A, ID_A},
        {"https://open.spotify.com/track/" ID_A "?si=abc123", ID_A},
        {"https://open.spotify.com/intl-de/track/" ID_A, ID_A},
        {"spotify:album:" ID_A, NULL},
        {"https://open.spotify.com/album/" ID_A, NULL},
        {"4uLU6hMCjMI75M1A2tKUQ", NULL},   /* 21 chars */
        {"4uLU6hMCjMI75M1A2tKUQCx", NULL}, /* 23 chars */
        {"4uLU6hMCjMI75M1A2tKU-C", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[23] = "";
        int rc = saved_file_track_id(cases[i].text, strlen(cases[i].text), id);
        if (cases[i].want) {
            if (rc != 0 || strcmp(id, cases[i].want) != 0)
                fail_msg("'%s' gave rc %d id '%s'", cases[i].text, rc, id);
        } else if (rc == 0) {
            fail_msg("'%s' was accepted as '%s'", cases[i].text, id);
        }
    }
}

static void test_formats(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *text;
        size_t n;
        const char *first_id; /* or NULL */
        const char *first_name;
        uint32_t first_artists;
        const char *first_artist;
    } cases[] = {
        {"lines", "# my likes\n" ID_A "\n\nspotify:track:" ID_B "\n", 2, ID_A, NULL, 0, NULL},
        {"csv ids", "id,name\n" ID_A ",Song A\n" ID_B ",Song B\n", 2, ID_A, "Song A", 0, NULL},
        {"csv kaggle artists",
         "name,artists,id\n\"Song, with comma\",\"['Ada Lane', 'B']\"," ID_A "\n", 1, ID_A,
         "Song, with comma", 2, "Ada Lane"},
        {"csv title only", "track_name,track_artist\nSong A,Ada Lane\n,\nSong B,Bo\n", 2, NULL,
         "Song A", 1, "Ada Lane"},
        {"csv exportify",
         "\xef\xbb\xbfTrack URI,Track Name,Artist Name(s)\nspotify:track:" ID_A
         ",Song A,\"Ada Lane,Bo\"\n",
         1, ID_A, "Song A", 2, "Ada Lane"},
        {"csv quoted quote", "uri,name\r\n" ID_A ",\"Say \"\"Hi\"\"\"\r\n", 1, ID_A, "Say \"Hi\"",
         0, NULL},
        {"your library",
         "{\"tracks\":[{\"artist\":\"Ada Lane\",\"album\":\"X\",\"track\":\"Song "
         "A\",\"uri\":\"spotify:track:" ID_A "\"},{\"artist\":\"Local\",\"track\":"
         "\"Home Tape\",\"uri\":\"spotify:local:x\"},{\"uri\":\"\"}]}",
         2, ID_A, "Song A", 1, "Ada Lane"},
        {"web api page",
         "{\"items\":[{\"track\":{\"id\":\"" ID_B "\",\"name\":\"Song B\","
         "\"artists\":[{\"name\":\"Bo\"},{\"name\":\"Cy\"}]}}]}",
         1, ID_B, "Song B", 2, "Bo"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct saved_list list = {0};
        char err[256] = "";
        if (saved_file_parse(cases[i].text, strlen(cases[i].text), &list, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].what, err);
        if (list.n != cases[i].n)
            fail_msg("%s: %zu tracks, want %zu", cases[i].what, list.n, cases[i].n);
        const struct saved_entry *e = &list.items[0];
        if (cases[i].first_id)
            assert_string_equal(e->id, cases[i].first_id);
        else
            assert_null(e->id);
        if (cases[i].first_name)
            assert_string_equal(e->name, cases[i].first_name);
        assert_int_equal(e->n_artists, cases[i].first_artists);
        if (cases[i].first_artist)
            assert_string_equal(e->artists[0], cases[i].first_artist);
        saved_list_free(&list);
    }
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *text;
        const char *says;
    } cases[] = {
        {"bad line", ID_A "\nnot an id\n", "line 2: 'not an id' is not a Spotify track id"},
        {"bad csv id", "id,name\nxyz,Song\n", "line 2: 'xyz' is not a Spotify track id"},
        {"open quote", "id,name\n" ID_A ",\"never closed\n", "a quoted field never ends"},
        {"bad json", "{\"tracks\": [", "not valid JSON"},
        {"json without tracks", "{\"songs\":[]}", "tracks: expected an array"},
        {"json track not object", "{\"tracks\":[1]}", "tracks[0]: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct saved_list list = {0};
        char err[256] = "";
        if (saved_file_parse(cases[i].text, strlen(cases[i].text), &list, err, sizeof err) == 0 ||
            !strstr(err, cases[i].says))
            fail_msg("%s: '%s'", cases[i].what, err);
        saved_list_free(&list);
    }
    struct saved_list list = {0};
    char err[256] = "";
    assert_int_equal(saved_file_read("/nonexistent/likes.txt", &list, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/likes.txt: No such file"));
    char path[] = "/tmp/saved_file_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# only a comment\n", f);
    fclose(f);
    assert_int_equal(saved_file_read(path, &list, err, sizeof err), -1);
    assert_non_null(strstr(err, "no tracks found"));
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_track_ids),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the hand-written RecommendRequest decoder (request_decode.c) against protobuf-c's
 * generic unpacker (request_decode_reference.c): a table of hand-made wire-format edge cases,
 * each with the outcome protobuf-c 1.4 gives it, then many seeded random requests and mutations
 * of them, on which both decoders must agree on the code, the message and every field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reco.pb-c.h"
#include "request_decode.h"
#include "request_decode_reference.h"
#include "splitmix64.h"

#define WIRE_MAX 4096

struct wire {
    uint8_t bytes[WIRE_MAX];
    size_t len;
};

static void put_byte(struct wire *w, uint8_t b)
{
    assert_true(w->len < WIRE_MAX);
    w->bytes[w->len++] = b;
}

static void put_varint(struct wire *w, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(w, (uint8_t)v);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    fail_msg("bad hex digit '%c'", c);
    return 0;
}

/* Builds bytes from a small notation: hex byte pairs, 'text' for its ASCII bytes, and ( ... )
 * for a length-delimited value (its length as a varint, then its bytes). Spaces are ignored. */
static void build(const char **spec, struct wire *w)
{
    while (**spec && **spec != ')') {
        char c = *(*spec)++;
        if (c == ' ')
            continue;
        if (c == '\'') {
            while (**spec != '\'')
                put_byte(w, (uint8_t) * (*spec)++);
            (*spec)++;
        } else if (c == '(') {
            struct wire *inner = calloc(1, sizeof *inner);
            build(spec, inner);
            assert_int_equal(**spec, ')');
            (*spec)++;
            put_varint(w, inner->len);
            for (size_t i = 0; i < inner->len; i++)
                put_byte(w, inner->bytes[i]);
            free(inner);
        } else {
            put_byte(w, (uint8_t)(hex_digit(c) << 4 | hex_digit(*(*spec)++)));
        }
    }
}

static void check_agrees(const uint8_t *payload, size_t len, const struct handler_limits *limits,
                         const char *what)
{
    char why[1024];
    if (!request_decode_agrees(payload, len, limits, why, sizeof why))
        fail_msg("%s (%zu bytes): %s", what, len, why);
}

/* Doubles as little-endian fixed64 bytes. */
#define D_120  "00 00 00 00 00 00 5e 40" /* 120.0 */
#define D_2000 "00 00 00 00 00 40 9f 40" /* 2000.0 */
#define D_INF  "00 00 00 00 00 00 f0 7f" /* +infinity */
#define D_NAN  "00 00 00 00 00 00 f8 7f" /* NaN */
#define ART4   "22('a') 22('b') 22('c') 22('d') "

static void test_edge_cases(void **state)
{
    (void)state;
    static const struct handler_limits limits = {.max_saved = 4, .max_n = 40};
    static const struct {
        const char *what;
        const char *spec;
        enum rpc_code want;
        const char *says; /* part of the message, "" for OK */
    } cases[] = {
        {"empty payload: every field absent", "", RPC_OK, ""},
        {"one track with an id", "0a(0a('a'))", RPC_OK, ""},
        {"zero tracks, n set", "10 05", RPC_OK, ""},
        /* Unknown fields of every valid wire type are skipped, at every level. */
        {"unknown varint", "70 96 01 0a(0a('a'))", RPC_OK, ""},
        {"unknown fixed64", "71 0102030405060708", RPC_OK, ""},
        {"unknown length-delimited", "72('abc')", RPC_OK, ""},
        {"unknown fixed32", "75 01020304", RPC_OK, ""},
        {"unknown field 2^29-1", "f8 ff ff ff 0f 00", RPC_OK, ""},
        {"unknown fields in a track", "0a(48 01 49 0102030405060708 4a() 4d 01020304)", RPC_OK, ""},
        {"unknown fields in a feature",
         "0a(42(18 01 0a('tempo') 21 " D_120 " 2a('x') 11 " D_120 "))", RPC_OK, ""},
        /* Groups and wire types 6, 7 are refused, even for unknown fields. */
        {"group start", "73 74", RPC_INVALID_ARGUMENT, "not a mixtape.reco.RecommendRequest"},
        {"group end", "74", RPC_INVALID_ARGUMENT, "not a"},
        {"group in a track", "0a(4b 4c)", RPC_INVALID_ARGUMENT, "not a"},
        {"wire type 6", "76 00", RPC_INVALID_ARGUMENT, "not a"},
        {"wire type 7", "77 00", RPC_INVALID_ARGUMENT, "not a"},
        /* Keys: field 0 in one byte is refused, a longer encoding of 0 is an unknown field. */
        {"field 0", "00 00", RPC_INVALID_ARGUMENT, "not a"},
        {"field 0, length-delimited", "02 00", RPC_INVALID_ARGUMENT, "not a"},
        {"field 0 in a two-byte key", "80 00 00", RPC_OK, ""},
        {"n in a five-byte key", "90 80 80 80 00 05", RPC_OK, ""},
        {"key of six bytes", "90 80 80 80 80 00 05", RPC_INVALID_ARGUMENT, "not a"},
        {"five-byte key, field 2 + 2^25", "90 80 80 80 01 05", RPC_OK, ""},
        {"truncated key", "90", RPC_INVALID_ARGUMENT, "not a"},
        /* Scalars: last wins, 64-bit varints cut to 32 bits, 10 bytes at most. */
        {"n twice, last wins", "10 05 10 07", RPC_OK, ""},
        {"n twice, last is 0", "10 05 10 00", RPC_INVALID_ARGUMENT, "n: 0 is outside 1..40"},
        {"n over max", "10 29", RPC_INVALID_ARGUMENT, "n: 41 is outside 1..40"},
        {"n cut to 32 bits (2^32 + 1)", "10 81 80 80 80 10", RPC_OK, ""},
        {"n cut to 32 bits (2^32)", "10 80 80 80 80 10", RPC_INVALID_ARGUMENT, "n: 0 is"},
        {"n in ten bytes", "10 81 80 80 80 80 80 80 80 80 7f", RPC_OK, ""},
        {"n in eleven bytes", "10 81 80 80 80 80 80 80 80 80 80 00", RPC_INVALID_ARGUMENT, "not a"},
        {"n truncated", "10 85", RPC_INVALID_ARGUMENT, "not a"},
        {"n missing", "10", RPC_INVALID_ARGUMENT, "not a"},
        {"n length-delimited", "12(05)", RPC_INVALID_ARGUMENT, "not a"},
        {"n fixed32", "15 05000000", RPC_INVALID_ARGUMENT, "not a"},
        {"n fixed64", "11 0500000000000000", RPC_INVALID_ARGUMENT, "not a"},
        {"variety 2^64-1", "18 ff ff ff ff ff ff ff ff ff 01", RPC_OK, ""},
        {"variety ten bytes, top bits dropped", "18 ff ff ff ff ff ff ff ff ff 7f", RPC_OK, ""},
        {"variety fixed64", "19 0100000000000000", RPC_INVALID_ARGUMENT, "not a"},
        {"max_per_artist 0", "20 00", RPC_INVALID_ARGUMENT, "max_per_artist: must be"},
        {"max_per_artist 2", "20 02", RPC_OK, ""},
        {"max_per_artist 2^32", "20 80 80 80 80 10", RPC_INVALID_ARGUMENT, "max_per_artist"},
        {"ranking -5 in ten bytes", "28 fb ff ff ff ff ff ff ff ff 01", RPC_INVALID_ARGUMENT,
         "ranking: -5 is not a known ranking"},
        {"ranking 2^31 is negative", "28 80 80 80 80 08", RPC_INVALID_ARGUMENT,
         "ranking: -2147483648 is not"},
        {"ranking 7 left to recommend()", "28 07", RPC_OK, ""},
        {"ranking 2^32 + 2", "28 82 80 80 80 10", RPC_OK, ""},
        {"ranking length-delimited", "2a()", RPC_INVALID_ARGUMENT, "not a"},
        /* Lengths: at most 5 bytes, never past the enclosing message. */
        {"saved past the end", "0a 05 0a 01 61", RPC_INVALID_ARGUMENT, "not a"},
        {"string past its track", "0a 02 0a 05 61 61 61 61 61 61 61 61 61", RPC_INVALID_ARGUMENT,
         "not a"},
        {"feature past its track", "0a(42 05 0a 01 61) 48 00 48 00", RPC_INVALID_ARGUMENT, "not a"},
        {"length 2^32 - 1", "72 ff ff ff ff 0f", RPC_INVALID_ARGUMENT, "not a"},
        {"length 2^34 + 1", "72 81 80 80 80 40 61", RPC_INVALID_ARGUMENT, "not a"},
        {"length in six bytes", "72 81 80 80 80 80 00 61", RPC_INVALID_ARGUMENT, "not a"},
        {"length 0 in five bytes", "72 80 80 80 80 00", RPC_OK, ""},
        {"length truncated", "0a 80", RPC_INVALID_ARGUMENT, "not a"},
        {"fixed64 truncated", "49 01020304050607", RPC_INVALID_ARGUMENT, "not a"},
        {"fixed32 truncated", "4d 010203", RPC_INVALID_ARGUMENT, "not a"},
        /* Wrong wire types for messages and strings are refused. */
        {"saved as varint", "08 00", RPC_INVALID_ARGUMENT, "not a"},
        {"saved as fixed64", "09 0000000000000000", RPC_INVALID_ARGUMENT, "not a"},
        {"id as varint", "0a(08 01)", RPC_INVALID_ARGUMENT, "not a"},
        {"artist as fixed32", "0a(25 61616161)", RPC_INVALID_ARGUMENT, "not a"},
        {"features as varint", "0a(40 01)", RPC_INVALID_ARGUMENT, "not a"},
        {"duration as string", "0a(2a('1'))", RPC_INVALID_ARGUMENT, "not a"},
        {"year as fixed64", "0a(31 0000000000000000)", RPC_INVALID_ARGUMENT, "not a"},
        /* Strings: empty, repeated, embedded NUL, not UTF-8. */
        {"empty track", "0a()", RPC_OK, ""},
        {"empty strings", "0a(0a() 12() 1a() 22())", RPC_OK, ""},
        {"id twice, last wins", "0a(0a('a') 0a('bc'))", RPC_OK, ""},
        {"embedded NUL", "0a(0a('a' 00 'b') 1a(00 'x'))", RPC_OK, ""},
        {"not UTF-8", "0a(0a(ff fe c3) 22(80))", RPC_OK, ""},
        {"16 artists", "0a(" ART4 ART4 ART4 ART4 ")", RPC_OK, ""},
        {"17 artists: the last dropped", "0a(" ART4 ART4 ART4 ART4 "22('q'))", RPC_OK, ""},
        {"20 artists, the 18th malformed", "0a(" ART4 ART4 ART4 ART4 "22('q') 20 01 22('r'))",
         RPC_INVALID_ARGUMENT, "not a"},
        /* explicit: protobuf-c checks no wire type for a bool, and reads every byte. */
        {"explicit 1", "0a(38 01)", RPC_OK, ""},
        {"explicit 0, then 2", "0a(38 00 38 02)", RPC_OK, ""},
        {"explicit 2^64 in ten bytes is true", "0a(38 80 80 80 80 80 80 80 80 80 02)", RPC_OK, ""},
        {"explicit length-delimited empty", "0a(3a())", RPC_OK, ""},
        {"explicit length-delimited 00", "0a(3a(00))", RPC_OK, ""},
        {"explicit fixed64 0", "0a(39 0000000000000000)", RPC_OK, ""},
        {"explicit fixed32 0x80", "0a(3d 80000000)", RPC_OK, ""},
        {"explicit group", "0a(3b)", RPC_INVALID_ARGUMENT, "not a"},
        {"explicit truncated", "0a(39 00)", RPC_INVALID_ARGUMENT, "not a"},
        /* duration, year. */
        {"duration and year", "0a(28 e8 07 30 cf 0f)", RPC_OK, ""},
        {"year 0 is unknown", "0a(30 00)", RPC_OK, ""},
        {"duration cut to 32 bits", "0a(28 ff ff ff ff ff ff ff ff ff 01)", RPC_OK, ""},
        /* Features: both fields required, last wins, features override the scalar fields. */
        {"tempo", "0a(42(0a('tempo') 11 " D_120 "))", RPC_OK, ""},
        {"value before name", "0a(42(11 " D_120 " 0a('tempo')))", RPC_OK, ""},
        {"feature without a value", "0a(42(0a('tempo')))", RPC_INVALID_ARGUMENT, "not a"},
        {"feature without a name", "0a(42(11 " D_120 "))", RPC_INVALID_ARGUMENT, "not a"},
        {"empty feature", "0a(42())", RPC_INVALID_ARGUMENT, "not a"},
        {"unknown feature without a value", "0a(42(0a('zzz')))", RPC_INVALID_ARGUMENT, "not a"},
        {"value as fixed32", "0a(42(0a('tempo') 15 00000000))", RPC_INVALID_ARGUMENT, "not a"},
        {"value as varint", "0a(42(0a('tempo') 10 00))", RPC_INVALID_ARGUMENT, "not a"},
        {"name as varint", "0a(42(08 00 11 " D_120 "))", RPC_INVALID_ARGUMENT, "not a"},
        {"unknown name ignored", "0a(42(0a('tempox') 11 " D_INF "))", RPC_OK, ""},
        {"name cut at a NUL", "0a(42(0a('tempo' 00 'x') 11 " D_120 "))", RPC_OK, ""},
        {"name twice, last wins", "0a(42(0a('bogus') 11 " D_120 " 0a('energy')))", RPC_OK, ""},
        {"value twice, last wins", "0a(42(0a('tempo') 11 " D_INF " 11 " D_120 "))", RPC_OK, ""},
        {"the same feature twice", "0a(42(0a('tempo') 11 " D_120 ") 42(0a('tempo') 11 " D_2000 "))",
         RPC_OK, ""},
        {"feature year overrides the year field", "0a(42(0a('year') 11 " D_2000 ") 30 cf 0f)",
         RPC_OK, ""},
        {"year field, then feature year", "0a(30 cf 0f 42(0a('year') 11 " D_2000 "))", RPC_OK, ""},
        {"feature duration_ms and explicit",
         "0a(28 e8 07 38 01 42(0a('duration_ms') 11 " D_120 ") 42(0a('explicit') 11 " D_2000 "))",
         RPC_OK, ""},
        {"infinite tempo", "0a(42(0a('tempo') 11 " D_INF "))", RPC_INVALID_ARGUMENT,
         "saved[0].features.tempo: not a finite number"},
        {"NaN energy on the second track", "0a() 0a(42(0a('energy') 11 " D_NAN "))",
         RPC_INVALID_ARGUMENT, "saved[1].features.energy: not a finite number"},
        {"the first non-finite feature is named",
         "0a(42(0a('tempo') 11 " D_INF ") 42(0a('energy') 11 " D_INF "))", RPC_INVALID_ARGUMENT,
         "saved[0].features.tempo"},
        {"non-finite, then a malformed track", "0a(42(0a('tempo') 11 " D_INF ")) 0a(08)",
         RPC_INVALID_ARGUMENT, "not a"},
        {"non-finite, and n 0", "10 00 0a(42(0a('tempo') 11 " D_INF "))", RPC_INVALID_ARGUMENT,
         "n: 0 is"},
        /* Steering: discover (float), target (message of floats), years (message of
         * uint32), explicit (bool). Values out of range decode: recommend() refuses them. */
        {"discover 0.5", "35 0000003f", RPC_OK, ""},
        {"discover 1.5 left to recommend()", "35 0000c03f", RPC_OK, ""},
        {"discover NaN left to recommend()", "35 0000c07f", RPC_OK, ""},
        {"discover twice, last wins", "35 0000c03f 35 0000003f", RPC_OK, ""},
        {"discover as varint", "30 01", RPC_INVALID_ARGUMENT, "not a"},
        {"discover as fixed64", "31 0000000000000000", RPC_INVALID_ARGUMENT, "not a"},
        {"discover as string", "32('a')", RPC_INVALID_ARGUMENT, "not a"},
        {"discover truncated", "35 0000", RPC_INVALID_ARGUMENT, "not a"},
        {"target energy", "3a(0d 0000003f)", RPC_OK, ""},
        {"target every field", "3a(0d 0000003f 15 0000803e 1d 0000403f 25 0000f042)", RPC_OK, ""},
        {"target with unknown fields", "3a(30 01 3a('x') 25 0000f042 2d 00000000)", RPC_OK, ""},
        {"empty target", "3a()", RPC_OK, ""},
        {"target twice, merged", "3a(0d 0000003f 25 0000f042) 3a(0d 0000803e 15 0000803f)", RPC_OK,
         ""},
        {"target as varint", "38 01", RPC_INVALID_ARGUMENT, "not a"},
        {"target as fixed32", "3d 00000000", RPC_INVALID_ARGUMENT, "not a"},
        {"target energy as varint", "3a(08 01)", RPC_INVALID_ARGUMENT, "not a"},
        {"target tempo as fixed64", "3a(21 0000000000005e40)", RPC_INVALID_ARGUMENT, "not a"},
        {"target energy truncated", "3a(0d 0000)", RPC_INVALID_ARGUMENT, "not a"},
        {"target past the end", "3a 05 0d 00 00", RPC_INVALID_ARGUMENT, "not a"},
        {"target with a group", "3a(0b 0c)", RPC_INVALID_ARGUMENT, "not a"},
        {"target with field 0", "3a(00 00)", RPC_INVALID_ARGUMENT, "not a"},
        {"years", "42(08 c6 0f 10 cf 0f)", RPC_OK, ""},
        {"years from only", "42(08 c6 0f)", RPC_OK, ""},
        {"years 0 is open", "42(08 00 10 00)", RPC_OK, ""},
        {"years twice, merged", "42(08 c6 0f) 42(10 cf 0f)", RPC_OK, ""},
        {"years with an unknown field", "42(18 01 08 c6 0f)", RPC_OK, ""},
        {"years to 70000", "42(10 f0 a2 04)", RPC_INVALID_ARGUMENT,
         "years: 70000 is outside 1900..2100"},
        {"years from 2^32 - 1", "42(08 ff ff ff ff 0f)", RPC_INVALID_ARGUMENT,
         "years: 4294967295 is outside"},
        {"years cut to 32 bits", "42(10 c6 8f 80 80 10)", RPC_OK, ""},
        {"years as varint", "40 01", RPC_INVALID_ARGUMENT, "not a"},
        {"years from as fixed32", "42(0d 00000000)", RPC_INVALID_ARGUMENT, "not a"},
        {"years to as string", "42(12('1999'))", RPC_INVALID_ARGUMENT, "not a"},
        {"years truncated", "42(08 c6)", RPC_INVALID_ARGUMENT, "not a"},
        {"explicit false", "48 00", RPC_OK, ""},
        {"explicit true", "48 01", RPC_OK, ""},
        {"explicit true, then false", "48 01 48 00", RPC_OK, ""},
        {"explicit fixed32 0", "4d 00000000", RPC_OK, ""},
        {"explicit length-delimited 01", "4a(01)", RPC_OK, ""},
        {"explicit group", "4b 4c", RPC_INVALID_ARGUMENT, "not a"},
        {"steering and a bad track", "35 0000003f 0a(08)", RPC_INVALID_ARGUMENT, "not a"},
        /* max_saved (4 here): counted over the whole message, after it is found well-formed. */
        {"4 tracks", "0a() 0a() 0a() 0a()", RPC_OK, ""},
        {"5 tracks", "0a() 0a() 10 00 0a() 0a() 0a()", RPC_RESOURCE_EXHAUSTED,
         "saved: 5 tracks exceeds the limit of 4 (--max-saved)"},
        {"5 tracks, the last malformed", "0a() 0a() 0a() 0a() 0a(08)", RPC_INVALID_ARGUMENT,
         "not a"},
        {"5 tracks, one without a feature value", "0a() 0a() 0a(42(0a('x'))) 0a() 0a()",
         RPC_INVALID_ARGUMENT, "not a"},
        {"5 tracks, then garbage", "0a() 0a() 0a() 0a() 0a() ff", RPC_INVALID_ARGUMENT, "not a"},
        {"5 tracks, a malformed target", "0a() 0a() 0a() 0a() 0a() 3a(08 01)", RPC_INVALID_ARGUMENT,
         "not a"},
        {"5 tracks, years too large", "0a() 0a() 0a() 0a() 0a() 42(10 f0 a2 04)",
         RPC_RESOURCE_EXHAUSTED, "saved: 5 tracks"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wire w = {0};
        const char *spec = cases[i].spec;
        build(&spec, &w);
        assert_int_equal(*spec, '\0');
        check_agrees(w.bytes, w.len, &limits, cases[i].what);
        struct recommend_call call;
        char err[512] = "";
        enum rpc_code code = recommend_call_decode(w.bytes, w.len, &limits, &call, err, sizeof err);
        if (code != cases[i].want || !strstr(err, cases[i].says))
            fail_msg("%s: got %s '%s'", cases[i].what, rpc_code_name(code), err);
        if (code == RPC_OK)
            recommend_call_free(&call);
    }
}

/* Decodes the bytes spec builds (limits: 4 tracks, n up to 40) into *call; fails unless OK. */
static void decode_ok(const char *spec, struct recommend_call *call)
{
    static const struct handler_limits limits = {.max_saved = 4, .max_n = 40};
    struct wire w = {0};
    build(&spec, &w);
    assert_int_equal(*spec, '\0');
    char err[512] = "";
    enum rpc_code code = recommend_call_decode(w.bytes, w.len, &limits, call, err, sizeof err);
    if (code != RPC_OK)
        fail_msg("%s: %s", rpc_code_name(code), err);
}

/* A few decoded values, checked by hand rather than against protobuf-c. */
static void test_decoded_values(void **state)
{
    (void)state;
    struct recommend_call call;
    decode_ok("28 82 80 80 80 10 0a(0a('x' 00 'y') 3a(00) 30 cf 0f 42(0a('year') 11 " D_2000
              ") " ART4 ART4 ART4 ART4 "22('q')) 0a()",
              &call);
    assert_int_equal(call.n_saved, 2);
    assert_int_equal(call.options.ranking, 2);
    assert_int_equal(call.options.n, 40);
    const struct reco_saved *s = &call.saved[0];
    assert_string_equal(s->id, "x");
    assert_null(s->isrc);
    assert_int_equal(s->n_artists, RECO_MAX_ARTISTS);
    assert_string_equal(s->artists[15], "d");
    assert_true(s->raw.value[FEAT_EXPLICIT] == 1.0); /* the length prefix 01 makes it true */
    assert_true(s->raw.value[FEAT_YEAR] == 2000.0);
    assert_int_equal(s->raw.present, (1u << FEAT_EXPLICIT) | (1u << FEAT_YEAR));
    assert_null(call.saved[1].id);
    assert_int_equal(call.saved[1].raw.present, 0);
    /* Nothing steered: the zero options. */
    assert_true(call.options.discover == 0.0f);
    assert_false(call.options.energy.set || call.options.valence.set ||
                 call.options.danceability.set || call.options.tempo.set);
    assert_int_equal(call.options.year_from, 0);
    assert_int_equal(call.options.year_to, 0);
    assert_false(call.options.no_explicit);
    recommend_call_free(&call);

    /* Steering, with a Target and a Years each sent twice (merged field by field). */
    decode_ok("35 0000003f 3a(0d 0000003f 25 0000f042) 48 00 42(08 c6 0f) 3a(0d 0000803e 15 "
              "0000803f) 42(10 cf 0f) 0a()",
              &call);
    assert_true(call.options.discover == 0.5f);
    assert_true(call.options.energy.set && call.options.energy.value == 0.25f);
    assert_true(call.options.valence.set && call.options.valence.value == 1.0f);
    assert_false(call.options.danceability.set);
    assert_true(call.options.tempo.set && call.options.tempo.value == 120.0f);
    assert_int_equal(call.options.year_from, 1990);
    assert_int_equal(call.options.year_to, 1999);
    assert_true(call.options.no_explicit);
    recommend_call_free(&call);

    /* explicit true is the default: songs stay allowed. */
    decode_ok("48 01 0a()", &call);
    assert_false(call.options.no_explicit);
    recommend_call_free(&call);
}

static char NAMES[][16] = {"tempo",   "energy", "year", "explicit", "duration_ms",
                           "valence", "bogus",  "",     "key"};

/* A random valid request, packed by protobuf-c. */
static size_t random_request(uint64_t *rng, uint8_t *out, size_t cap)
{
    enum { MAX_TRACKS = 8, MAX_ARTISTS = 20, MAX_FEATURES = 4 };
    Mixtape__Reco__SavedTrack tracks[MAX_TRACKS], *track_ptrs[MAX_TRACKS];
    char texts[MAX_TRACKS][3][24];
    char *artists[MAX_TRACKS][MAX_ARTISTS];
    char artist_texts[MAX_TRACKS][MAX_ARTISTS][8];
    Mixtape__Reco__Feature features[MAX_TRACKS][MAX_FEATURES];
    Mixtape__Reco__Feature *feature_ptrs[MAX_TRACKS][MAX_FEATURES];
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.n_saved = splitmix64_next(rng) % (MAX_TRACKS + 1);
    for (size_t t = 0; t < req.n_saved; t++) {
        Mixtape__Reco__SavedTrack *st = &tracks[t];
        mixtape__reco__saved_track__init(st);
        char **fields[3] = {&st->id, &st->isrc, &st->name};
        for (int f = 0; f < 3; f++) {
            if (splitmix64_next(rng) % 3 == 0)
                continue;
            snprintf(texts[t][f], sizeof texts[t][f], "t%llx",
                     (unsigned long long)(splitmix64_next(rng) % 100000));
            *fields[f] = texts[t][f];
        }
        st->n_artists = splitmix64_next(rng) % 4 == 0 ? splitmix64_next(rng) % (MAX_ARTISTS + 1)
                                                      : splitmix64_next(rng) % 3;
        for (size_t a = 0; a < st->n_artists; a++) {
            snprintf(artist_texts[t][a], sizeof artist_texts[t][a], "a%u", (unsigned)(a % 100));
            artists[t][a] = artist_texts[t][a];
        }
        st->artists = artists[t];
        st->has_duration_ms = splitmix64_next(rng) % 2;
        st->duration_ms = (uint32_t)splitmix64_next(rng);
        st->has_year = splitmix64_next(rng) % 2;
        st->year = splitmix64_next(rng) % 4 == 0 ? 0 : 1950 + splitmix64_next(rng) % 80;
        st->has_explicit_ = splitmix64_next(rng) % 2;
        st->explicit_ = splitmix64_next(rng) % 2;
        st->n_features = splitmix64_next(rng) % (MAX_FEATURES + 1);
        for (size_t f = 0; f < st->n_features; f++) {
            mixtape__reco__feature__init(&features[t][f]);
            features[t][f].name = NAMES[splitmix64_next(rng) % (sizeof NAMES / sizeof NAMES[0])];
            uint64_t pick = splitmix64_next(rng) % 16;
            features[t][f].value = pick == 0   ? INFINITY
                                   : pick == 1 ? NAN
                                               : splitmix64_uniform(rng) * 200.0 - 20.0;
            feature_ptrs[t][f] = &features[t][f];
        }
        st->features = feature_ptrs[t];
        track_ptrs[t] = st;
    }
    req.saved = track_ptrs;
    req.has_n = splitmix64_next(rng) % 2;
    req.n = splitmix64_next(rng) % 50;
    req.variety = splitmix64_next(rng) % 2 ? splitmix64_next(rng) : 0;
    req.has_max_per_artist = splitmix64_next(rng) % 2;
    req.max_per_artist = splitmix64_next(rng) % 4;
    req.has_ranking = splitmix64_next(rng) % 2;
    req.ranking = (Mixtape__Reco__Ranking)(int32_t)(splitmix64_next(rng) % 10 - 2);
    /* Steering, in about half the requests: in range, out of range and not finite. */
    bool steer = splitmix64_next(rng) % 2;
    static const float values[] = {0.0f, 0.5f, 1.0f, -0.5f, 1.5f, 120.0f, 301.0f, NAN, INFINITY};
    const size_t n_values = sizeof values / sizeof values[0];
    req.has_discover = steer && splitmix64_next(rng) % 2;
    req.discover = values[splitmix64_next(rng) % n_values];
    Mixtape__Reco__Target target = MIXTAPE__RECO__TARGET__INIT;
    if (steer && splitmix64_next(rng) % 2) {
        target.has_energy = splitmix64_next(rng) % 2;
        target.energy = values[splitmix64_next(rng) % n_values];
        target.has_valence = splitmix64_next(rng) % 2;
        target.valence = values[splitmix64_next(rng) % n_values];
        target.has_danceability = splitmix64_next(rng) % 2;
        target.danceability = values[splitmix64_next(rng) % n_values];
        target.has_tempo = splitmix64_next(rng) % 2;
        target.tempo = values[splitmix64_next(rng) % n_values];
        req.target = &target;
    }
    static const uint32_t years[] = {0,    1899, 1900, 1950, 1975,  1990, 2001,
                                     2024, 2100, 2101, 4000, 65535, 70000};
    Mixtape__Reco__Years range = MIXTAPE__RECO__YEARS__INIT;
    if (steer && splitmix64_next(rng) % 2) {
        range.has_from = splitmix64_next(rng) % 2;
        range.from = years[splitmix64_next(rng) % (sizeof years / sizeof years[0])];
        range.has_to = splitmix64_next(rng) % 2;
        range.to = years[splitmix64_next(rng) % (sizeof years / sizeof years[0])];
        req.years = &range;
    }
    req.has_explicit_ = steer && splitmix64_next(rng) % 2;
    req.explicit_ = splitmix64_next(rng) % 2;
    size_t len = mixtape__reco__recommend_request__get_packed_size(&req);
    assert_true(len <= cap);
    return mixtape__reco__recommend_request__pack(&req, out);
}

/* Bytes that often mean something in this format: keys of every field and wire type,
 * varint continuation, lengths. */
static const uint8_t INTERESTING[] = {0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x10, 0x11, 0x12, 0x15,
                                      0x18, 0x1b, 0x20, 0x22, 0x28, 0x2a, 0x38, 0x3a, 0x3b, 0x42,
                                      0x7f, 0x80, 0xff, 0x0b, 0x0c, 0x0e, 0x0f, 0x39, 0x3d, 0x35,
                                      0x30, 0x48, 0x4d, 0x0d, 0x25, 0x1d, 0x3f, 0x7c, 0xc6};

static size_t mutate(uint64_t *rng, uint8_t *bytes, size_t len, size_t cap)
{
    int rounds = 1 + (int)(splitmix64_next(rng) % 3);
    for (int r = 0; r < rounds; r++) {
        size_t at = len ? splitmix64_next(rng) % len : 0;
        switch (splitmix64_next(rng) % 7) {
        case 0: /* flip a bit */
            if (len)
                bytes[at] ^= (uint8_t)(1u << (splitmix64_next(rng) % 8));
            break;
        case 1: /* an interesting byte */
            if (len)
                bytes[at] = INTERESTING[splitmix64_next(rng) % sizeof INTERESTING];
            break;
        case 2: /* truncate */
            len = at;
            break;
        case 3: /* insert a byte */
            if (len < cap) {
                memmove(bytes + at + 1, bytes + at, len - at);
                bytes[at] = INTERESTING[splitmix64_next(rng) % sizeof INTERESTING];
                len++;
            }
            break;
        case 4: /* delete a byte */
            if (len) {
                memmove(bytes + at, bytes + at + 1, len - at - 1);
                len--;
            }
            break;
        case 5: { /* duplicate a slice at the end */
            size_t n = len - at < 16 ? len - at : 16;
            if (len + n <= cap) {
                memcpy(bytes + len, bytes + at, n);
                len += n;
            }
            break;
        }
        default: /* a random byte */
            if (len)
                bytes[at] = (uint8_t)splitmix64_next(rng);
            break;
        }
    }
    return len;
}

static void test_random_mutations(void **state)
{
    (void)state;
    static const struct handler_limits limits[] = {
        {.max_saved = 6, .max_n = 40},
        {.max_saved = 20000, .max_n = 500},
        {.max_saved = 0, .max_n = 1},
    };
    uint64_t rng = 20261205;
    static uint8_t original[WIRE_MAX], bytes[WIRE_MAX + 64];
    size_t accepted = 0, total = 0;
    for (int round = 0; round < 600; round++) {
        size_t len = random_request(&rng, original, WIRE_MAX);
        const struct handler_limits *lim = &limits[round % 3];
        check_agrees(original, len, lim, "random request");
        for (int m = 0; m < 60; m++) {
            memcpy(bytes, original, len);
            size_t mutated = mutate(&rng, bytes, len, sizeof bytes);
            char what[64];
            snprintf(what, sizeof what, "round %d mutation %d", round, m);
            check_agrees(bytes, mutated, lim, what);
            struct recommend_call call;
            if (recommend_call_decode(bytes, mutated, lim, &call, NULL, 0) == RPC_OK) {
                accepted++;
                recommend_call_free(&call);
            }
            total++;
        }
    }
    /* The mutations must reach both sides of the decoder. */
    assert_true(accepted > total / 20);
    assert_true(accepted < total - total / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_decoded_values),
        cmocka_unit_test(test_random_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tests of the Recommend contract's one declaration and its typed client: the defaults in
 * reco_limits.h are reco.proto's, every ranking of reco.proto has exactly one name, a request
 * packed by reco_rpc reads back through the generated code field for field, and a reply packed
 * by the generated code decodes through reco_rpc with every optional field kept optional. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reco.pb-c.h"
#include "reco_rpc.h"

static const ProtobufCFieldDescriptor *field(const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
        &mixtape__reco__recommend_request__descriptor, name);
    assert_non_null(f);
    return f;
}

static void test_defaults_are_the_protos(void **state)
{
    (void)state;
    const ProtobufCFieldDescriptor *n = field("n");
    const ProtobufCFieldDescriptor *per_artist = field("max_per_artist");
    assert_non_null(n->default_value);
    assert_non_null(per_artist->default_value);
    assert_int_equal(*(const uint32_t *)n->default_value, RECO_DEFAULT_N);
    assert_int_equal(*(const uint32_t *)per_artist->default_value, RECO_DEFAULT_MAX_PER_ARTIST);
    assert_true(RECO_DEFAULT_N <= RECO_MAX_N);
}

static void test_every_ranking_has_one_name(void **state)
{
    (void)state;
    static const char *const names[] = {"default", "mean",          "centroid",     "neighbours",
                                        "votes",   "votes-artists", "mean-artists", "flat"};
    const ProtobufCEnumDescriptor *e = &mixtape__reco__ranking__descriptor;
    assert_int_equal(e->n_values, sizeof names / sizeof names[0]);
    int seen[16] = {0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint32_t value = 99;
        assert_int_equal(reco_rpc_ranking_from_name(names[i], &value), 0);
        assert_non_null(protobuf_c_enum_descriptor_get_value(e, (int)value));
        assert_true(value < 16);
        assert_int_equal(seen[value]++, 0);
        assert_non_null(strstr(reco_rpc_ranking_names, names[i]));
    }
    uint32_t value = 99;
    assert_int_equal(reco_rpc_ranking_from_name("Mean", &value), -1);
    assert_int_equal(reco_rpc_ranking_from_name("", &value), -1);
    assert_int_equal(value, 99);
}

static void test_request_packs_as_the_proto_reads_it(void **state)
{
    (void)state;
    char *artists[] = {"A", "B"};
    const char *const names[] = {"tempo", "energy"};
    const double values[] = {120.5, 0.25};
    const struct reco_rpc_track tracks[] = {
        {.id = "0000000000000000000001",
         .isrc = "USX",
         .name = "One",
         .artists = artists,
         .n_artists = 2,
         .has_duration_ms = true,
         .duration_ms = 1000,
         .has_year = true,
         .year = 1999,
         .has_explicit = true,
         .explicit_lyrics = true,
         .feature_names = names,
         .feature_values = values,
         .n_features = 2},
        {.name = "Local file"},
    };
    uint32_t ranking = 0;
    assert_int_equal(reco_rpc_ranking_from_name("votes", &ranking), 0);
    const struct reco_rpc_request req = {.tracks = tracks,
                                         .n_tracks = 2,
                                         .has_n = true,
                                         .n = 7,
                                         .has_variety = true,
                                         .variety = 9007199254740991ull,
                                         .has_ranking = true,
                                         .ranking = ranking};
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(reco_rpc_pack_request(&req, &bytes, &len), 0);
    Mixtape__Reco__RecommendRequest *m = mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    assert_non_null(m);
    assert_int_equal(m->n_saved, 2);
    assert_true(m->has_n);
    assert_int_equal(m->n, 7);
    assert_true(m->has_variety);
    assert_int_equal(m->variety, 9007199254740991ull);
    assert_false(m->has_max_per_artist);
    assert_true(m->has_ranking);
    assert_int_equal(m->ranking, MIXTAPE__RECO__RANKING__RANKING_NEIGHBOUR_VOTES);
    const Mixtape__Reco__SavedTrack *t = m->saved[0];
    assert_string_equal(t->id, "0000000000000000000001");
    assert_string_equal(t->isrc, "USX");
    assert_string_equal(t->name, "One");
    assert_int_equal(t->n_artists, 2);
    assert_string_equal(t->artists[1], "B");
    assert_true(t->has_duration_ms && t->duration_ms == 1000);
    assert_true(t->has_year && t->year == 1999);
    assert_true(t->has_explicit_ && t->explicit_);
    assert_int_equal(t->n_features, 2);
    assert_string_equal(t->features[0]->name, "tempo");
    assert_true(t->features[1]->value == 0.25);
    const Mixtape__Reco__SavedTrack *local = m->saved[1];
    assert_null(local->id);
    assert_null(local->isrc);
    assert_string_equal(local->name, "Local file");
    assert_false(local->has_duration_ms || local->has_year || local->has_explicit_);
    assert_int_equal(local->n_features, 0);
    /* Nothing steered: no steering field goes on the wire. */
    assert_false(m->has_discover || m->has_explicit_);
    assert_null(m->target);
    assert_null(m->years);
    mixtape__reco__recommend_request__free_unpacked(m, NULL);
    free(bytes);
}

static void test_steering_packs_as_the_proto_reads_it(void **state)
{
    (void)state;
    const struct reco_rpc_track track = {.id = "0000000000000000000001"};
    struct reco_rpc_request req = {.tracks = &track,
                                   .n_tracks = 1,
                                   .has_discover = true,
                                   .discover = 0.75f,
                                   .energy = {true, 0.9f},
                                   .tempo = {true, 128.0f},
                                   .year_from = 1990,
                                   .no_explicit = true};
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(reco_rpc_pack_request(&req, &bytes, &len), 0);
    Mixtape__Reco__RecommendRequest *m = mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    assert_non_null(m);
    assert_true(m->has_discover && m->discover == 0.75f);
    assert_non_null(m->target);
    assert_true(m->target->has_energy && m->target->energy == 0.9f);
    assert_false(m->target->has_valence || m->target->has_danceability);
    assert_true(m->target->has_tempo && m->target->tempo == 128.0f);
    assert_non_null(m->years);
    assert_true(m->years->has_from && m->years->from == 1990);
    assert_false(m->years->has_to);
    assert_true(m->has_explicit_ && !m->explicit_);
    mixtape__reco__recommend_request__free_unpacked(m, NULL);
    free(bytes);

    /* A year range open at the start, explicit songs allowed: explicit is left out (its
     * default, true, means allowed). */
    req = (struct reco_rpc_request){.tracks = &track, .n_tracks = 1, .year_to = 1999};
    assert_int_equal(reco_rpc_pack_request(&req, &bytes, &len), 0);
    m = mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    assert_non_null(m);
    assert_null(m->target);
    assert_true(m->years && !m->years->has_from && m->years->to == 1999);
    assert_false(m->has_explicit_);
    assert_true(m->explicit_); /* the proto's default */
    mixtape__reco__recommend_request__free_unpacked(m, NULL);
    free(bytes);
}

static void test_reply_decodes_with_optional_fields_kept(void **state)
{
    (void)state;
    Mixtape__Reco__Pick picks[2];
    Mixtape__Reco__Pick *pick_ptrs[2] = {&picks[0], &picks[1]};
    char *artists[] = {"X"};
    for (int i = 0; i < 2; i++)
        mixtape__reco__pick__init(&picks[i]);
    picks[0].id = "1111111111111111111111";
    picks[0].name = "First";
    picks[0].artists = artists;
    picks[0].n_artists = 1;
    picks[0].has_year = 1;
    picks[0].year = 2001;
    picks[0].score = 0.5f;
    picks[0].cluster = 4;
    picks[0].has_because = 1;
    picks[0].because = 0;
    picks[0].because_name = "One";
    picks[0].has_popularity = 1;
    picks[0].popularity = 77;
    picks[1].id = "2222222222222222222222";
    picks[1].name = "Second";
    picks[1].score = 0.25f;
    picks[1].cluster = 5;
    Mixtape__Reco__MatchStats stats = MIXTAPE__RECO__MATCH_STATS__INIT;
    stats.saved = 3;
    stats.by_id = 1;
    stats.by_title = 1;
    stats.unmatched = 1;
    Mixtape__Reco__ClusterShare share = MIXTAPE__RECO__CLUSTER_SHARE__INIT;
    share.cluster = 4;
    share.saved = 2;
    share.slots = 1;
    Mixtape__Reco__ClusterShare *shares[] = {&share};
    Mixtape__Reco__RecommendReply reply = MIXTAPE__RECO__RECOMMEND_REPLY__INIT;
    reply.picks = pick_ptrs;
    reply.n_picks = 2;
    reply.stats = &stats;
    reply.clusters = shares;
    reply.n_clusters = 1;
    reply.model_version = "v1";
    uint8_t bytes[1024];
    size_t len = mixtape__reco__recommend_reply__pack(&reply, bytes);

    struct reco_rpc_reply *r = reco_rpc_decode_reply(bytes, len);
    assert_non_null(r);
    assert_int_equal(r->n_picks, 2);
    assert_string_equal(r->picks[0].name, "First");
    assert_string_equal(r->picks[0].artists[0], "X");
    assert_true(r->picks[0].has_year && r->picks[0].year == 2001);
    assert_true(r->picks[0].has_because && r->picks[0].because == 0);
    assert_string_equal(r->picks[0].because_name, "One");
    assert_true(r->picks[0].has_popularity && r->picks[0].popularity == 77);
    assert_false(r->picks[0].has_duration_ms);
    assert_false(r->picks[1].has_year || r->picks[1].has_because || r->picks[1].has_popularity);
    assert_null(r->picks[1].because_name);
    assert_true(r->picks[1].score == 0.25f);
    assert_int_equal(r->stats.saved, 3);
    assert_int_equal(r->stats.unmatched, 1);
    assert_int_equal(r->n_clusters, 1);
    assert_int_equal(r->clusters[0].slots, 1);
    assert_null(r->clusters[0].label);
    assert_string_equal(r->model_version, "v1");
    /* From a service before styles: none, no style on a pick, the default reason. */
    assert_int_equal(r->n_styles, 0);
    assert_null(r->picks[0].style);
    assert_false(r->picks[0].has_style_index);
    assert_int_equal(r->picks[0].reason, RECO_RPC_REASON_SIMILAR_SOUND);
    assert_null(r->short_reason);
    assert_int_equal(r->stats.by_artist, 0);
    assert_int_equal(r->stats.n_by_decade, 0);
    reco_rpc_reply_free(r);

    /* Styles, reasons, match figures and a short reason. */
    Mixtape__Reco__Style styles[2], *style_ptrs[2] = {&styles[0], &styles[1]};
    for (int i = 0; i < 2; i++) {
        mixtape__reco__style__init(&styles[i]);
        styles[i].has_library_share = styles[i].has_playlist_share = 1;
        styles[i].has_cluster = 1;
    }
    styles[0].name = "jazz · bossa nova";
    styles[0].library_share = 0.75f;
    styles[0].playlist_share = 0.5f;
    styles[0].cluster = 4;
    styles[1].library_share = 0.25f;
    styles[1].playlist_share = 0.5f;
    styles[1].cluster = 5;
    styles[1].has_exhausted = 1;
    styles[1].exhausted = 1;
    picks[0].style = "jazz · bossa nova";
    picks[0].isrc = "USRC17607839";
    picks[1].isrc = ""; /* empty: none */
    picks[0].has_style_index = 1;
    picks[0].style_index = 0;
    picks[0].has_reason = 1;
    picks[0].reason = MIXTAPE__RECO__REASON__REASON_SAME_ARTIST;
    picks[1].has_style_index = 1;
    picks[1].style_index = 7; /* past the styles sent: dropped */
    picks[1].has_reason = 1;
    picks[1].reason = MIXTAPE__RECO__REASON__REASON_NEW_ARTIST;
    Mixtape__Reco__DecadeMatch decade = MIXTAPE__RECO__DECADE_MATCH__INIT;
    decade.decade = "1970s";
    decade.has_year_from = decade.has_year_to = 1;
    decade.year_from = 1970;
    decade.year_to = 1979;
    decade.has_saved = decade.has_songs = decade.has_artists_only = 1;
    decade.saved = 3;
    decade.songs = 1;
    decade.artists_only = 1;
    Mixtape__Reco__DecadeMatch *decade_ptrs[] = {&decade};
    stats.has_by_artist = 1;
    stats.by_artist = 1;
    stats.by_decade = decade_ptrs;
    stats.n_by_decade = 1;
    reply.styles = style_ptrs;
    reply.n_styles = 2;
    reply.short_reason = "only 2 songs from 1970-1975";
    len = mixtape__reco__recommend_reply__pack(&reply, bytes);
    r = reco_rpc_decode_reply(bytes, len);
    assert_non_null(r);
    assert_int_equal(r->n_styles, 2);
    assert_string_equal(r->styles[0].name, "jazz · bossa nova");
    assert_string_equal(r->styles[1].name, "");
    assert_true(r->styles[0].library_share == 0.75f && r->styles[1].playlist_share == 0.5f);
    assert_int_equal(r->styles[1].cluster, 5);
    assert_false(r->styles[0].exhausted); /* absent: false */
    assert_true(r->styles[1].exhausted);
    assert_string_equal(r->picks[0].style, "jazz · bossa nova");
    assert_string_equal(r->picks[0].isrc, "USRC17607839");
    assert_null(r->picks[1].isrc);
    assert_true(r->picks[0].has_style_index && r->picks[0].style_index == 0);
    assert_int_equal(r->picks[0].reason, RECO_RPC_REASON_SAME_ARTIST);
    assert_false(r->picks[1].has_style_index);
    assert_int_equal(r->picks[1].reason, RECO_RPC_REASON_NEW_ARTIST);
    assert_int_equal(r->stats.by_artist, 1);
    assert_int_equal(r->stats.n_by_decade, 1);
    assert_string_equal(r->stats.by_decade[0].decade, "1970s");
    assert_int_equal(r->stats.by_decade[0].year_to, 1979);
    assert_int_equal(r->stats.by_decade[0].artists_only, 1);
    assert_string_equal(r->short_reason, "only 2 songs from 1970-1975");
    reco_rpc_reply_free(r);
    assert_string_equal(reco_rpc_reason_name(RECO_RPC_REASON_SIMILAR_SOUND), "similar_sound");
    assert_string_equal(reco_rpc_reason_name(RECO_RPC_REASON_SAME_ARTIST), "same_artist");
    assert_string_equal(reco_rpc_reason_name(RECO_RPC_REASON_NEW_ARTIST), "new_artist");

    /* Not a RecommendReply (stats is required): truncated bytes and nothing at all. */
    assert_null(reco_rpc_decode_reply((const uint8_t *)"\x0a\x02\x08", 3));
    assert_null(reco_rpc_decode_reply(NULL, 0));
    reco_rpc_reply_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_protos),
        cmocka_unit_test(test_every_ranking_has_one_name),
        cmocka_unit_test(test_request_packs_as_the_proto_reads_it),
        cmocka_unit_test(test_steering_packs_as_the_proto_reads_it),
        cmocka_unit_test(test_reply_decodes_with_optional_fields_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

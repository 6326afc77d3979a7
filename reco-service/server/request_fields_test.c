/* Ties the hand-written decoder's field numbers (request_decode.h) to protobuf-c's generated
 * descriptors of proto/reco.proto: each field the decoder reads must have that number, that
 * type and that label there, and every field of the messages it reads must be one it knows. A
 * change to reco.proto that the decoder does not follow fails here, not on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reco.pb-c.h"
#include "request_decode.h"

struct field_rule {
    const char *name;
    unsigned number;
    ProtobufCType type;
    ProtobufCLabel label;
};

static void check_message(const ProtobufCMessageDescriptor *desc, const struct field_rule *rules,
                          size_t n_rules)
{
    for (size_t i = 0; i < n_rules; i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(desc, rules[i].name);
        if (!f)
            fail_msg("%s.%s: not in reco.proto", desc->name, rules[i].name);
        if (f->id != rules[i].number)
            fail_msg("%s.%s: reco.proto numbers it %u, request_decode.h %u", desc->name,
                     rules[i].name, f->id, rules[i].number);
        if (f->type != rules[i].type)
            fail_msg("%s.%s: type %d in reco.proto, the decoder reads %d", desc->name,
                     rules[i].name, (int)f->type, (int)rules[i].type);
        if (f->label != rules[i].label)
            fail_msg("%s.%s: label %d in reco.proto, the decoder expects %d", desc->name,
                     rules[i].name, (int)f->label, (int)rules[i].label);
    }
    if (desc->n_fields != n_rules)
        fail_msg("%s: reco.proto has %u fields, the decoder reads %zu", desc->name, desc->n_fields,
                 n_rules);
}

static void test_recommend_request_fields(void **state)
{
    (void)state;
    static const struct field_rule rules[] = {
        {"saved", REQUEST_SAVED, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_REPEATED},
        {"n", REQUEST_N, PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_LABEL_OPTIONAL},
        {"variety", REQUEST_VARIETY, PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_LABEL_OPTIONAL},
        {"max_per_artist", REQUEST_MAX_PER_ARTIST, PROTOBUF_C_TYPE_UINT32,
         PROTOBUF_C_LABEL_OPTIONAL},
        {"ranking", REQUEST_RANKING, PROTOBUF_C_TYPE_ENUM, PROTOBUF_C_LABEL_OPTIONAL},
        {"discover", REQUEST_DISCOVER, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_LABEL_OPTIONAL},
        {"target", REQUEST_TARGET, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_OPTIONAL},
        {"years", REQUEST_YEARS, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_OPTIONAL},
        {"explicit", REQUEST_EXPLICIT, PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_LABEL_OPTIONAL},
    };
    check_message(&mixtape__reco__recommend_request__descriptor, rules,
                  sizeof rules / sizeof rules[0]);
}

static void test_saved_track_fields(void **state)
{
    (void)state;
    static const struct field_rule rules[] = {
        {"id", TRACK_ID, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_OPTIONAL},
        {"isrc", TRACK_ISRC, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_OPTIONAL},
        {"name", TRACK_NAME, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_OPTIONAL},
        {"artists", TRACK_ARTISTS, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_REPEATED},
        {"duration_ms", TRACK_DURATION_MS, PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_LABEL_OPTIONAL},
        {"year", TRACK_YEAR, PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_LABEL_OPTIONAL},
        {"explicit", TRACK_EXPLICIT, PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_LABEL_OPTIONAL},
        {"features", TRACK_FEATURES, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_REPEATED},
    };
    check_message(&mixtape__reco__saved_track__descriptor, rules, sizeof rules / sizeof rules[0]);
}

static void test_feature_fields(void **state)
{
    (void)state;
    static const struct field_rule rules[] = {
        {"name", FEATURE_NAME, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_REQUIRED},
        {"value", FEATURE_VALUE, PROTOBUF_C_TYPE_DOUBLE, PROTOBUF_C_LABEL_REQUIRED},
    };
    check_message(&mixtape__reco__feature__descriptor, rules, sizeof rules / sizeof rules[0]);
}

static void test_target_fields(void **state)
{
    (void)state;
    static const struct field_rule rules[] = {
        {"energy", TARGET_ENERGY, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_LABEL_OPTIONAL},
        {"valence", TARGET_VALENCE, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_LABEL_OPTIONAL},
        {"danceability", TARGET_DANCEABILITY, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_LABEL_OPTIONAL},
        {"tempo", TARGET_TEMPO, PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_LABEL_OPTIONAL},
    };
    check_message(&mixtape__reco__target__descriptor, rules, sizeof rules / sizeof rules[0]);
}

static void test_years_fields(void **state)
{
    (void)state;
    static const struct field_rule rules[] = {
        {"from", YEARS_FROM, PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_LABEL_OPTIONAL},
        {"to", YEARS_TO, PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_LABEL_OPTIONAL},
    };
    check_message(&mixtape__reco__years__descriptor, rules, sizeof rules / sizeof rules[0]);
}

/* The nested messages are the ones the decoder reads them as. */
static void test_nested_messages(void **state)
{
    (void)state;
    const ProtobufCFieldDescriptor *saved = protobuf_c_message_descriptor_get_field_by_name(
        &mixtape__reco__recommend_request__descriptor, "saved");
    assert_ptr_equal(saved->descriptor, &mixtape__reco__saved_track__descriptor);
    const ProtobufCFieldDescriptor *features = protobuf_c_message_descriptor_get_field_by_name(
        &mixtape__reco__saved_track__descriptor, "features");
    assert_ptr_equal(features->descriptor, &mixtape__reco__feature__descriptor);
    const ProtobufCFieldDescriptor *target = protobuf_c_message_descriptor_get_field_by_name(
        &mixtape__reco__recommend_request__descriptor, "target");
    assert_ptr_equal(target->descriptor, &mixtape__reco__target__descriptor);
    const ProtobufCFieldDescriptor *years = protobuf_c_message_descriptor_get_field_by_name(
        &mixtape__reco__recommend_request__descriptor, "years");
    assert_ptr_equal(years->descriptor, &mixtape__reco__years__descriptor);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recommend_request_fields),
        cmocka_unit_test(test_saved_track_fields),
        cmocka_unit_test(test_feature_fields),
        cmocka_unit_test(test_target_fields),
        cmocka_unit_test(test_years_fields),
        cmocka_unit_test(test_nested_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

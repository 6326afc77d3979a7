/* Tests of the manifest checker's YAML tree: plain scalars typed as PyYAML's safe_load types
 * them, quoting and tags, merge keys and aliases, documents Python would skip, Python's str()
 * of a node, equality, edits, and the errors for text that is not YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree.h"

static struct tree *parse_ok(const char *text)
{
    char err[256] = "";
    struct tree *doc = tree_parse(text, err, sizeof err);
    if (!doc)
        fail_msg("'%s': %s", text, err);
    return doc;
}

static void test_scalars(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        enum tree_type type;
        double number;
        const char *shown; /* Python's str() of the value */
    } cases[] = {
        {"7100", TREE_INT, 7100, "7100"},
        {"-3", TREE_INT, -3, "-3"},
        {"1_000", TREE_INT, 1000, "1000"},
        {"0x1f", TREE_INT, 31, "31"},
        {"010", TREE_INT, 8, "8"},
        {"08", TREE_STR, 0, "08"},
        {"'7100'", TREE_STR, 0, "7100"},
        {"\"0\"", TREE_STR, 0, "0"},
        {"!!str 12", TREE_STR, 0, "12"},
        {"!!int 12", TREE_INT, 12, "12"},
        {"1.5", TREE_FLOAT, 1.5, "1.5"},
        {".5", TREE_FLOAT, 0.5, "0.5"},
        {"1e5", TREE_STR, 0, "1e5"},
        {"true", TREE_BOOL, 1, "True"},
        {"Yes", TREE_BOOL, 1, "True"},
        {"on", TREE_BOOL, 1, "True"},
        {"false", TREE_BOOL, 0, "False"},
        {"OFF", TREE_BOOL, 0, "False"},
        {"'true'", TREE_STR, 0, "true"},
        {"~", TREE_NULL, 0, "None"},
        {"null", TREE_NULL, 0, "None"},
        {"0.0.0.0:7180", TREE_STR, 0, "0.0.0.0:7180"},
        {"65532:65532", TREE_STR, 0, "65532:65532"},
        {"tcp://reco-1:7100", TREE_STR, 0, "tcp://reco-1:7100"},
        {"1Gi", TREE_STR, 0, "1Gi"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128], shown[128];
        snprintf(text, sizeof text, "v: %s", cases[i].yaml);
        struct tree *doc = parse_ok(text);
        const struct tree *v = tree_get(doc, "v");
        assert_non_null(v);
        if (v->type != cases[i].type || tree_format(v, shown, sizeof shown) == NULL ||
            strcmp(shown, cases[i].shown) != 0)
            fail_msg("%s: type %d '%s', want %d '%s'", cases[i].yaml, (int)v->type, shown,
                     (int)cases[i].type, cases[i].shown);
        if (cases[i].type != TREE_STR && cases[i].type != TREE_NULL)
            assert_true(v->number == cases[i].number);
        tree_free(doc);
    }
    /* An empty value is null. */
    struct tree *doc = parse_ok("v:\nw: 1");
    assert_int_equal(tree_get(doc, "v")->type, TREE_NULL);
    tree_free(doc);
}

static void test_merge_and_alias(void **state)
{
    (void)state;
    struct tree *doc = parse_ok("base: &b {user: '1:1', read_only: true, cap_drop: [ALL]}\n"
                                "svc:\n  <<: *b\n  read_only: false\n  image: x\n"
                                "copy: *b\n");
    const struct tree *svc = tree_get(doc, "svc");
    assert_true(tree_equal_str(tree_get(svc, "user"), "1:1"));
    assert_true(tree_is_false(tree_get(svc, "read_only"))); /* the explicit key wins */
    assert_true(tree_seq_has_str(tree_get(svc, "cap_drop"), "ALL"));
    assert_null(tree_get(svc, "<<"));
    /* The alias is a copy: changing it leaves the anchor's node alone. */
    struct tree *copy = tree_get(doc, "copy");
    tree_set(copy, "user", tree_new_str("0"));
    assert_true(tree_equal_str(tree_at(doc, "base", "user", NULL), "1:1"));
    assert_true(tree_equal_str(tree_get(svc, "user"), "1:1"));
    tree_free(doc);
}

static void test_documents(void **state)
{
    (void)state;
    char path[] = "/tmp/tree_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "---\n# only a comment\n---\nkind: A\n---\n{}\n---\n[]\n---\n"
                               "kind: B\n...\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct tree **docs;
    size_t n;
    char err[256];
    assert_true(tree_load_file(path, &docs, &n, err, sizeof err));
    assert_int_equal(n, 2); /* the empty ones are skipped, as Python's `if d` skips them */
    assert_true(tree_equal_str(tree_get(docs[0], "kind"), "A"));
    assert_true(tree_equal_str(tree_get(docs[1], "kind"), "B"));
    tree_free_all(docs, n);
    unlink(path);
    assert_false(tree_load_file(path, &docs, &n, err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"a: [1", "text:"},           {"a: *nowhere", "unknown anchor"},
        {"{[1]: x}", "not a scalar"}, {"a: 1\n---\nb: 2", "not one document"},
        {"<<: 1", "merge key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        struct tree *doc = tree_parse(cases[i].text, err, sizeof err);
        if (doc || !strstr(err, cases[i].says))
            fail_msg("'%s': %s '%s'", cases[i].text, doc ? "parsed" : "refused", err);
    }
}

static void test_format_and_equal(void **state)
{
    (void)state;
    struct tree *doc = parse_ok("{a: [x, 1, true, null], b: {c: '2'}}");
    char text[128];
    assert_string_equal(tree_format(doc, text, sizeof text),
                        "{'a': ['x', 1, True, None], 'b': {'c': '2'}}");
    assert_string_equal(tree_format(doc, text, 12), "{'a': ['x',");
    assert_string_equal(tree_format(NULL, text, sizeof text), "None");
    struct tree *zero = parse_ok("[0, false, '0', 0.0, null]");
    assert_true(tree_equal(zero->items[0], zero->items[1]));  /* 0 == False */
    assert_true(tree_equal(zero->items[0], zero->items[3]));  /* 0 == 0.0 */
    assert_false(tree_equal(zero->items[0], zero->items[2])); /* 0 != '0' */
    assert_false(tree_equal(zero->items[4], NULL));           /* null is not missing */
    assert_true(tree_equal_int(zero->items[1], 0));
    assert_false(tree_truthy(zero->items[2]) == false); /* '0' is a true string */
    assert_false(tree_truthy(zero->items[3]));
    struct tree *copy = tree_copy(doc);
    assert_true(tree_equal(doc, copy));
    assert_true(tree_remove(copy, "a"));
    assert_false(tree_remove(copy, "a"));
    assert_false(tree_equal(doc, copy));
    assert_int_equal(tree_len(copy), 1);
    tree_remove_item(zero, 0);
    assert_int_equal(tree_len(zero), 4);
    assert_true(tree_is_false(zero->items[0]));
    tree_free(copy);
    tree_free(zero);
    tree_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),          cmocka_unit_test(test_merge_and_alias),
        cmocka_unit_test(test_documents),        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_format_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

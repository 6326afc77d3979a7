/* YAML documents as a tree the manifest checker can read and change (tests/deploy only): libyaml
 * parses, plain scalars get the types PyYAML's safe_load gives them (null, bool, int, float,
 * string; YAML 1.1's sexagesimal 1:30 and dates stay strings), aliases are copied and merge keys
 * (<<) applied, so the checks read what Kubernetes and compose read. */
#ifndef MIXTAPE_TREE_H
#define MIXTAPE_TREE_H

#include <stdbool.h>
#include <stddef.h>

enum tree_type { TREE_NULL, TREE_BOOL, TREE_INT, TREE_FLOAT, TREE_STR, TREE_MAP, TREE_SEQ };

struct tree {
    enum tree_type type;
    char *text;    /* a scalar as written (TREE_STR: its value); NULL for maps and sequences */
    double number; /* TREE_BOOL (0 or 1), TREE_INT and TREE_FLOAT */
    size_t n, cap; /* entries of a map or items of a sequence */
    char **keys;   /* TREE_MAP: n keys, as text */
    struct tree **items; /* TREE_MAP: the n values; TREE_SEQ: the n items */
};

/* Reads every document of a YAML file and keeps those Python would call true (not null, not
 * empty) in *docs, *n_docs of them (the caller frees with tree_free_all). Returns false with
 * err naming the file, line and problem when it does not parse. */
bool tree_load_file(const char *path, struct tree ***docs, size_t *n_docs, char *err,
                    size_t err_len);

/* One YAML document given as text (flow style welcome: "{name: h, hostPath: {path: /}}"), or
 * NULL with err when it does not parse. The caller frees with tree_free. */
struct tree *tree_parse(const char *text, char *err, size_t err_len);

/* New nodes (the caller owns them until they are put into a tree). Never NULL: they abort when
 * out of memory, like xmalloc. */
struct tree *tree_new_map(void);
struct tree *tree_new_seq(void);
struct tree *tree_new_str(const char *text);

/* A deep copy; never NULL. */
struct tree *tree_copy(const struct tree *node);

void tree_free(struct tree *node);
void tree_free_all(struct tree **docs, size_t n_docs);

/* The value under key of a map, or NULL when node is NULL, not a map or has no such key. */
struct tree *tree_get(const struct tree *node, const char *key);

/* tree_get along a NULL-terminated list of keys. */
struct tree *tree_at(const struct tree *node, ...) __attribute__((sentinel));

/* Sets key of a map to value (taking it; an old value is freed). */
void tree_set(struct tree *map, const char *key, struct tree *value);

/* Removes key from a map and frees its value; false when there was no such key. */
bool tree_remove(struct tree *map, const char *key);

/* Appends value (taking it) to a sequence. */
void tree_append(struct tree *seq, struct tree *value);

/* Removes and frees item i of a sequence (i < n). */
void tree_remove_item(struct tree *seq, size_t i);

/* Number of items of a sequence or entries of a map; 0 for NULL and scalars. */
size_t tree_len(const struct tree *node);

/* Number of items of a sequence; 0 for anything else, so `for (i < tree_seq_len(list))` reads
 * nothing from a missing or mistyped list. */
size_t tree_seq_len(const struct tree *node);

/* Python's truth: false for a missing node, null, false, 0, "" and empty maps and sequences. */
bool tree_truthy(const struct tree *node);

/* Python's `node is True` and `node is False`. */
bool tree_is_true(const struct tree *node);
bool tree_is_false(const struct tree *node);

/* Python's == for scalars: numbers (bools counted as 0 and 1) against numbers, strings against
 * strings, null against null. A missing node equals only a missing node. */
bool tree_equal(const struct tree *a, const struct tree *b);
bool tree_equal_str(const struct tree *node, const char *text);
bool tree_equal_int(const struct tree *node, long long value);

/* The string value, or NULL when node is not a string. */
const char *tree_str(const struct tree *node);

/* Python's str() of the node into buf (truncated to len - 1 bytes): a string as it is, None,
 * True, False, numbers as written, lists and dicts in Python's repr. Returns buf. */
char *tree_format(const struct tree *node, char *buf, size_t len);

/* Whether a sequence holds an item equal to the string text. */
bool tree_seq_has_str(const struct tree *seq, const char *text);

#endif

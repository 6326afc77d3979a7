/* YAML documents read with libyaml's event parser into a tree typed the way PyYAML's safe_load
 * types it: see tree.h. */
#include "tree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "errbuf.h"
#include "xalloc.h"

/* Deeper nesting than any manifest has: a guard against a hostile file. */
#define MAX_DEPTH 64
/* Most anchors one file may define. */
#define MAX_ANCHORS 256

struct anchor {
    char *name;
    struct tree *node; /* owned by the document: copied at each alias */
};

struct loader {
    yaml_parser_t parser;
    const char *source; /* for messages: a path or "text" */
    struct anchor anchors[MAX_ANCHORS];
    size_t n_anchors;
    char *err;
    size_t err_len;
};

static struct tree *new_node(enum tree_type type)
{
    struct tree *node = xcalloc(1, sizeof *node);
    node->type = type;
    return node;
}

struct tree *tree_new_map(void)
{
    return new_node(TREE_MAP);
}

struct tree *tree_new_seq(void)
{
    return new_node(TREE_SEQ);
}

struct tree *tree_new_str(const char *text)
{
    struct tree *node = new_node(TREE_STR);
    node->text = xstrdup(text);
    return node;
}

void tree_free(struct tree *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; i++) {
        if (node->keys)
            free(node->keys[i]);
        tree_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->text);
    free(node);
}

void tree_free_all(struct tree **docs, size_t n_docs)
{
    for (size_t i = 0; i < n_docs; i++)
        tree_free(docs[i]);
    free(docs);
}

struct tree *tree_copy(const struct tree *node)
{
    struct tree *copy = new_node(node->type);
    copy->text = node->text ? xstrdup(node->text) : NULL;
    copy->number = node->number;
    for (size_t i = 0; i < node->n; i++) {
        if (node->type == TREE_MAP)
            tree_set(copy, node->keys[i], tree_copy(node->items[i]));
        else
            tree_append(copy, tree_copy(node->items[i]));
    }
    return copy;
}

static void grow(struct tree *node)
{
    if (node->n < node->cap)
        return;
    node->cap = node->cap ? node->cap * 2 : 4;
    node->items = xrealloc(node->items, node->cap * sizeof *node->items);
    if (node->type == TREE_MAP)
        node->keys = xrealloc(node->keys, node->cap * sizeof *node->keys);
}

static size_t find_key(const struct tree *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return i;
    return map->n;
}

struct tree *tree_get(const struct tree *node, const char *key)
{
    if (!node || node->type != TREE_MAP)
        return NULL;
    size_t i = find_key(node, key);
    return i < node->n ? node->items[i] : NULL;
}

struct tree *tree_at(const struct tree *node, ...)
{
    va_list ap;
    va_start(ap, node);
    const char *key;
    struct tree *at = (struct tree *)(uintptr_t)node;
    while (at && (key = va_arg(ap, const char *)) != NULL)
        at = tree_get(at, key);
    va_end(ap);
    return at;
}

void tree_set(struct tree *map, const char *key, struct tree *value)
{
    size_t i = find_key(map, key);
    if (i < map->n) {
        tree_free(map->items[i]);
        map->items[i] = value;
        return;
    }
    grow(map);
    map->keys[map->n] = xstrdup(key);
    map->items[map->n++] = value;
}

bool tree_remove(struct tree *map, const char *key)
{
    if (!map || map->type != TREE_MAP)
        return false;
    size_t i = find_key(map, key);
    if (i == map->n)
        return false;
    free(map->keys[i]);
    tree_free(map->items[i]);
    memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof *map->keys);
    memmove(map->items + i, map->items + i + 1, (map->n - i - 1) * sizeof *map->items);
    map->n--;
    return true;
}

void tree_append(struct tree *seq, struct tree *value)
{
    grow(seq);
    seq->items[seq->n++] = value;
}

void tree_remove_item(struct tree *seq, size_t i)
{
    tree_free(seq->items[i]);
    memmove(seq->items + i, seq->items + i + 1, (seq->n - i - 1) * sizeof *seq->items);
    seq->n--;
}

size_t tree_len(const struct tree *node)
{
    return node && (node->type == TREE_MAP || node->type == TREE_SEQ) ? node->n : 0;
}

size_t tree_seq_len(const struct tree *node)
{
    return node && node->type == TREE_SEQ ? node->n : 0;
}

bool tree_truthy(const struct tree *node)
{
    if (!node)
        return false;
    switch (node->type) {
    case TREE_NULL:
        return false;
    case TREE_BOOL:
    case TREE_INT:
    case TREE_FLOAT:
        return node->number != 0;
    case TREE_STR:
        return node->text[0] != '\0';
    case TREE_MAP:
    case TREE_SEQ:
        return node->n > 0;
    }
    return false;
}

bool tree_is_true(const struct tree *node)
{
    return node && node->type == TREE_BOOL && node->number != 0;
}

bool tree_is_false(const struct tree *node)
{
    return node && node->type == TREE_BOOL && node->number == 0;
}

static bool is_number(const struct tree *node)
{
    return node->type == TREE_BOOL || node->type == TREE_INT || node->type == TREE_FLOAT;
}

bool tree_equal(const struct tree *a, const struct tree *b)
{
    if (!a || !b)
        return a == b;
    if (is_number(a) && is_number(b))
        return a->number == b->number;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case TREE_NULL:
        return true;
    case TREE_STR:
        return strcmp(a->text, b->text) == 0;
    case TREE_MAP:
    case TREE_SEQ:
        if (a->n != b->n)
            return false;
        for (size_t i = 0; i < a->n; i++) {
            const struct tree *other = a->type == TREE_MAP ? tree_get(b, a->keys[i]) : b->items[i];
            if (!tree_equal(a->items[i], other))
                return false;
        }
        return true;
    default:
        return false;
    }
}

bool tree_equal_str(const struct tree *node, const char *text)
{
    return node && node->type == TREE_STR && strcmp(node->text, text) == 0;
}

bool tree_equal_int(const struct tree *node, long long value)
{
    return node && is_number(node) && node->number == (double)value;
}

const char *tree_str(const struct tree *node)
{
    return node && node->type == TREE_STR ? node->text : NULL;
}

bool tree_seq_has_str(const struct tree *seq, const char *text)
{
    if (!seq || seq->type != TREE_SEQ)
        return false;
    for (size_t i = 0; i < seq->n; i++)
        if (tree_equal_str(seq->items[i], text))
            return true;
    return false;
}

/* Appends Python's str() (repr inside containers) of node at buf[*used]. */
static void format_into(const struct tree *node, bool repr, char *buf, size_t len, size_t *used)
{
    char one[64];
    const char *text = one;
    if (!node) {
        text = "None";
    } else {
        switch (node->type) {
        case TREE_NULL:
            text = "None";
            break;
        case TREE_BOOL:
            text = node->number != 0 ? "True" : "False";
            break;
        case TREE_INT:
            snprintf(one, sizeof one, "%.0f", node->number);
            break;
        case TREE_FLOAT:
            snprintf(one, sizeof one, "%.17g", node->number);
            break;
        case TREE_STR:
            text = node->text;
            break;
        case TREE_MAP:
        case TREE_SEQ: {
            bool map = node->type == TREE_MAP;
            format_into(&(struct tree){.type = TREE_STR, .text = map ? "{" : "["}, false, buf, len,
                        used);
            for (size_t i = 0; i < node->n; i++) {
                if (i > 0)
                    format_into(&(struct tree){.type = TREE_STR, .text = ", "}, false, buf, len,
                                used);
                if (map) {
                    format_into(&(struct tree){.type = TREE_STR, .text = node->keys[i]}, true, buf,
                                len, used);
                    format_into(&(struct tree){.type = TREE_STR, .text = ": "}, false, buf, len,
                                used);
                }
                format_into(node->items[i], true, buf, len, used);
            }
            format_into(&(struct tree){.type = TREE_STR, .text = map ? "}" : "]"}, false, buf, len,
                        used);
            return;
        }
        }
    }
    bool quote = repr && node && node->type == TREE_STR;
    int n = snprintf(buf + *used, len - *used, quote ? "'%s'" : "%s", text);
    if (n > 0)
        *used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

char *tree_format(const struct tree *node, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    format_into(node, false, buf, len, &used);
    return buf;
}

/* PyYAML's implicit types for a plain scalar (YAML 1.1): null, bool, int, float, else str. */
static void resolve_plain(struct tree *node)
{
    static const char *const NULLS[] = {"", "~", "null", "Null", "NULL"};
    static const char *const TRUES[] = {"yes",  "Yes", "YES", "true", "True",
                                        "TRUE", "on",  "On",  "ON"};
    static const char *const FALSES[] = {"no",    "No",  "NO",  "false", "False",
                                         "FALSE", "off", "Off", "OFF"};
    const char *s = node->text;
    for (size_t i = 0; i < sizeof NULLS / sizeof NULLS[0]; i++)
        if (strcmp(s, NULLS[i]) == 0) {
            node->type = TREE_NULL;
            return;
        }
    for (size_t i = 0; i < sizeof TRUES / sizeof TRUES[0]; i++)
        if (strcmp(s, TRUES[i]) == 0 || strcmp(s, FALSES[i]) == 0) {
            node->type = TREE_BOOL;
            node->number = strcmp(s, TRUES[i]) == 0;
            return;
        }
    /* Decimal, 0x hex and 0 octal integers (underscores allowed, as in YAML 1.1). */
    char digits[64];
    size_t n = 0;
    for (const char *c = s; *c && n + 1 < sizeof digits; c++)
        if (*c != '_')
            digits[n++] = *c;
    digits[n] = '\0';
    const char *body = digits + (digits[0] == '-' || digits[0] == '+');
    if (*body && strlen(s) < sizeof digits) {
        char *end;
        errno = 0;
        if (body[0] >= '0' && body[0] <= '9') {
            int base = body[0] != '0' || !body[1] ? 10 : (body[1] == 'x' ? 16 : 8);
            long long v = strtoll(digits, &end, base);
            if (*end == '\0' && errno == 0 && (base != 16 || body[2])) {
                node->type = TREE_INT;
                node->number = (double)v;
                return;
            }
        }
        /* A float has a dot (or is .inf / .nan); "1e5" alone is a string in YAML 1.1. */
        if (strchr(body, '.')) {
            double v = strtod(digits, &end);
            bool special =
                strcmp(body, ".inf") == 0 || strcmp(body, ".Inf") == 0 || strcmp(body, ".INF") == 0;
            bool nan = strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0;
            if ((*end == '\0' && end != digits) || special || nan) {
                node->type = TREE_FLOAT;
                node->number = special ? (digits[0] == '-' ? -INFINITY : INFINITY) : nan ? NAN : v;
                return;
            }
        }
    }
    node->type = TREE_STR;
}

/* A scalar with an explicit tag: !!str, !!int, !!bool, !!null, !!float; other tags keep the
 * text as a string. */
static void resolve_tagged(struct tree *node, const char *tag)
{
    static const char PREFIX[] = "tag:yaml.org,2002:";
    const char *name = strncmp(tag, PREFIX, sizeof PREFIX - 1) == 0 ? tag + sizeof PREFIX - 1 : "";
    if (strcmp(name, "null") == 0 || strcmp(name, "bool") == 0 || strcmp(name, "int") == 0 ||
        strcmp(name, "float") == 0) {
        resolve_plain(node);
        return;
    }
    node->type = TREE_STR;
}

static bool fail(struct loader *l, const char *problem, const yaml_mark_t *mark)
{
    errbuf_set(l->err, l->err_len, "%s:%zu:%zu: %s", l->source, mark->line + 1, mark->column + 1,
               problem);
    return false;
}

static bool next_event(struct loader *l, yaml_event_t *event)
{
    if (yaml_parser_parse(&l->parser, event))
        return true;
    const char *problem = l->parser.problem ? l->parser.problem : "not YAML";
    return fail(l, problem, &l->parser.problem_mark);
}

static bool remember_anchor(struct loader *l, const yaml_char_t *anchor, struct tree *node,
                            const yaml_mark_t *mark)
{
    if (!anchor)
        return true;
    if (l->n_anchors == MAX_ANCHORS)
        return fail(l, "more than 256 anchors", mark);
    l->anchors[l->n_anchors].name = xstrdup((const char *)anchor);
    l->anchors[l->n_anchors].node = node;
    l->n_anchors++;
    return true;
}

static struct tree *load_node(struct loader *l, yaml_event_t *event, int depth);

/* Applies a merge key's value (a map or a sequence of maps) to map: keys map already has win. */
static bool merge_into(struct loader *l, struct tree *map, const struct tree *from,
                       const yaml_mark_t *mark)
{
    if (from->type == TREE_SEQ) {
        for (size_t i = 0; i < from->n; i++)
            if (!merge_into(l, map, from->items[i], mark))
                return false;
        return true;
    }
    if (from->type != TREE_MAP)
        return fail(l, "a merge key (<<) takes a mapping or a list of mappings", mark);
    for (size_t i = 0; i < from->n; i++)
        if (!tree_get(map, from->keys[i]))
            tree_set(map, from->keys[i], tree_copy(from->items[i]));
    return true;
}

static struct tree *load_collection(struct loader *l, yaml_event_t *start, int depth)
{
    bool is_map = start->type == YAML_MAPPING_START_EVENT;
    struct tree *node = is_map ? tree_new_map() : tree_new_seq();
    struct tree *merges = tree_new_seq();
    yaml_mark_t mark = start->start_mark;
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    if (!remember_anchor(
            l, is_map ? start->data.mapping_start.anchor : start->data.sequence_start.anchor, node,
            &mark))
        goto fail;
    for (;;) {
        yaml_event_t event;
        if (!next_event(l, &event))
            goto fail;
        if (event.type == end) {
            yaml_event_delete(&event);
            break;
        }
        struct tree *first = load_node(l, &event, depth + 1);
        if (!first)
            goto fail;
        if (!is_map) {
            tree_append(node, first);
            continue;
        }
        /* A map: first is the key, a scalar (a complex key is not something we read). */
        if (first->type == TREE_MAP || first->type == TREE_SEQ) {
            tree_free(first);
            fail(l, "a mapping key that is not a scalar", &mark);
            goto fail;
        }
        char key[512];
        tree_format(first, key, sizeof key);
        bool merge = first->type == TREE_STR && strcmp(first->text, "<<") == 0;
        tree_free(first);
        if (!next_event(l, &event))
            goto fail;
        struct tree *value = load_node(l, &event, depth + 1);
        if (!value)
            goto fail;
        if (merge)
            tree_append(merges, value);
        else
            tree_set(node, key, value);
    }
    for (size_t i = 0; i < merges->n; i++)
        if (!merge_into(l, node, merges->items[i], &mark))
            goto fail;
    tree_free(merges);
    return node;
fail:
    tree_free(merges);
    /* An anchor may still point at node: forget it before freeing. */
    for (size_t i = 0; i < l->n_anchors; i++)
        if (l->anchors[i].node == node)
            l->anchors[i].node = NULL;
    tree_free(node);
    return NULL;
}

/* The node that event starts (event is consumed). */
static struct tree *load_node(struct loader *l, yaml_event_t *event, int depth)
{
    struct tree *node = NULL;
    if (depth > MAX_DEPTH) {
        fail(l, "nested deeper than 64 levels", &event->start_mark);
        yaml_event_delete(event);
        return NULL;
    }
    switch (event->type) {
    case YAML_SCALAR_EVENT: {
        const yaml_char_t *tag = event->data.scalar.tag;
        node = new_node(TREE_STR);
        node->text = xmalloc(event->data.scalar.length + 1);
        memcpy(node->text, event->data.scalar.value, event->data.scalar.length);
        node->text[event->data.scalar.length] = '\0';
        if (tag && strcmp((const char *)tag, "!") != 0)
            resolve_tagged(node, (const char *)tag);
        else if (event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag)
            resolve_plain(node);
        if (!remember_anchor(l, event->data.scalar.anchor, node, &event->start_mark)) {
            tree_free(node);
            node = NULL;
        }
        break;
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)event->data.alias.anchor;
        for (size_t i = l->n_anchors; i-- > 0;)
            if (strcmp(l->anchors[i].name, name) == 0 && l->anchors[i].node) {
                node = tree_copy(l->anchors[i].node);
                break;
            }
        if (!node)
            fail(l, "an alias to an unknown anchor", &event->start_mark);
        break;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        node = load_collection(l, event, depth);
        break;
    default:
        fail(l, "unexpected YAML event", &event->start_mark);
        break;
    }
    yaml_event_delete(event);
    return node;
}

static void forget_anchors(struct loader *l)
{
    for (size_t i = 0; i < l->n_anchors; i++)
        free(l->anchors[i].name);
    l->n_anchors = 0;
}

/* Every document of the stream the parser reads, into *docs (with only_true, only those Python
 * calls true). */
static bool load_stream(struct loader *l, bool only_true, struct tree ***docs, size_t *n_docs)
{
    struct tree *all = tree_new_seq();
    bool ok = false;
    yaml_event_t event;
    for (;;) {
        if (!next_event(l, &event))
            goto done;
        yaml_event_type_t type = event.type;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&event);
            break;
        }
        yaml_event_delete(&event);
        if (type != YAML_DOCUMENT_START_EVENT)
            continue; /* the stream's start */
        if (!next_event(l, &event))
            goto done;
        struct tree *doc = load_node(l, &event, 0);
        forget_anchors(l); /* anchors are per document */
        if (!doc)
            goto done;
        if (!only_true || tree_truthy(doc))
            tree_append(all, doc);
        else
            tree_free(doc);
        if (!next_event(l, &event)) /* the document's end */
            goto done;
        yaml_event_delete(&event);
    }
    *n_docs = all->n;
    *docs = all->items; /* the sequence's items become the caller's array */
    all->items = NULL;
    all->n = 0;
    ok = true;
done:
    forget_anchors(l);
    tree_free(all);
    return ok;
}

bool tree_load_file(const char *path, struct tree ***docs, size_t *n_docs, char *err,
                    size_t err_len)
{
    *docs = NULL;
    *n_docs = 0;
    FILE *in = fopen(path, "rb");
    if (!in) {
        errbuf_set(err, err_len, "%s: %s", path, strerror(errno));
        return false;
    }
    struct loader *l = xcalloc(1, sizeof *l);
    l->source = path;
    l->err = err;
    l->err_len = err_len;
    bool ok = yaml_parser_initialize(&l->parser);
    if (ok) {
        yaml_parser_set_input_file(&l->parser, in);
        ok = load_stream(l, true, docs, n_docs);
        yaml_parser_delete(&l->parser);
    } else {
        errbuf_set(err, err_len, "%s: libyaml could not start", path);
    }
    free(l);
    fclose(in);
    return ok;
}

struct tree *tree_parse(const char *text, char *err, size_t err_len)
{
    struct loader *l = xcalloc(1, sizeof *l);
    l->source = "text";
    l->err = err;
    l->err_len = err_len;
    struct tree **docs = NULL;
    size_t n_docs = 0;
    struct tree *doc = NULL;
    if (!yaml_parser_initialize(&l->parser)) {
        errbuf_set(err, err_len, "libyaml could not start");
        free(l);
        return NULL;
    }
    yaml_parser_set_input_string(&l->parser, (const unsigned char *)text, strlen(text));
    if (load_stream(l, false, &docs, &n_docs)) {
        if (n_docs == 1) {
            doc = docs[0];
            docs[0] = NULL;
        } else {
            errbuf_set(err, err_len, "'%s' is not one document", text);
        }
        tree_free_all(docs, n_docs);
    }
    yaml_parser_delete(&l->parser);
    free(l);
    return doc;
}

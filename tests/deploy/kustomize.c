/* A minimal kustomize for the manifest checker: see kustomize.h. It reads what deploy/k8s uses
 * and nothing more; kubectl's rendering, where installed, is checked too. */
#include "kustomize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errbuf.h"
#include "manifest_checks.h"

/* A node as a message shows it, in one of a few rotating buffers. */
static const char *show(const struct tree *node)
{
    static char bufs[4][512];
    static unsigned next;
    char *buf = bufs[next++ % (sizeof bufs / sizeof bufs[0])];
    return tree_format(node, buf, sizeof bufs[0]);
}

/* Splits "key=value" into key (a buffer of key_len) and *value; false without an '='. */
static bool split_pair(const char *item, char *key, size_t key_len, const char **value)
{
    const char *eq = strchr(item, '=');
    if (!eq || (size_t)(eq - item) >= key_len)
        return false;
    memcpy(key, item, (size_t)(eq - item));
    key[eq - item] = '\0';
    *value = eq + 1;
    return true;
}

/* One generated object: {apiVersion: v1, kind, metadata: {name}}. */
static struct tree *generated(const char *kind, const struct tree *name)
{
    struct tree *o = tree_new_map(), *md = tree_new_map();
    tree_set(o, "apiVersion", tree_new_str("v1"));
    tree_set(o, "kind", tree_new_str(kind));
    tree_set(md, "name", tree_copy(name));
    tree_set(o, "metadata", md);
    return o;
}

static bool generate(const char *directory, const struct tree *k, struct tree *objects, char *err,
                     size_t err_len)
{
    const struct tree *gens = tree_get(k, "configMapGenerator");
    for (size_t g = 0; g < tree_seq_len(gens); g++) {
        struct tree *data = tree_new_map();
        const struct tree *literals = tree_get(gens->items[g], "literals");
        for (size_t i = 0; i < tree_seq_len(literals); i++) {
            char key[256];
            const char *value;
            const char *item = tree_str(literals->items[i]);
            if (!item || !split_pair(item, key, sizeof key, &value)) {
                errbuf_set(err, err_len, "%s: literal %s is not KEY=VALUE", directory,
                           show(literals->items[i]));
                tree_free(data);
                return false;
            }
            tree_set(data, key, tree_new_str(value));
        }
        struct tree *o = generated("ConfigMap", tree_get(gens->items[g], "name"));
        tree_set(o, "data", data);
        tree_append(objects, o);
    }
    gens = tree_get(k, "secretGenerator");
    for (size_t g = 0; g < tree_seq_len(gens); g++) {
        struct tree *data = tree_new_map();
        const struct tree *files = tree_get(gens->items[g], "files");
        for (size_t i = 0; i < tree_seq_len(files); i++) {
            char key[256], path[4096];
            const char *file;
            const char *item = tree_str(files->items[i]);
            struct stat st;
            if (!item || !split_pair(item, key, sizeof key, &file)) {
                errbuf_set(err, err_len, "%s: file %s is not KEY=PATH", directory,
                           show(files->items[i]));
                tree_free(data);
                return false;
            }
            snprintf(path, sizeof path, "%s/%s", directory, file);
            if (stat(path, &st) != 0) {
                errbuf_set(err, err_len, "%s: %s is missing (run make-secrets.sh first)", directory,
                           file);
                tree_free(data);
                return false;
            }
            tree_set(data, key, tree_new_str("(file)"));
        }
        struct tree *o = generated("Secret", tree_get(gens->items[g], "name"));
        const struct tree *type = tree_get(gens->items[g], "type");
        tree_set(o, "type", type ? tree_copy(type) : tree_new_str("Opaque"));
        tree_set(o, "data", data);
        tree_append(objects, o);
    }
    return true;
}

/* Namespace, common labels and image names, as kustomize sets them on every object. */
static void customise(const struct tree *k, struct tree *o)
{
    struct tree *md = tree_get(o, "metadata");
    if (!md) {
        md = tree_new_map();
        tree_set(o, "metadata", md);
    }
    const struct tree *ns = tree_get(k, "namespace");
    if (!tree_equal_str(tree_get(o, "kind"), "Namespace") && tree_truthy(ns))
        tree_set(md, "namespace", tree_copy(ns));
    struct tree *labels = tree_get(md, "labels");
    if (!labels) {
        labels = tree_new_map();
        tree_set(md, "labels", labels);
    }
    const struct tree *common = tree_get(k, "commonLabels");
    for (size_t i = 0; common && common->type == TREE_MAP && i < common->n; i++)
        tree_set(labels, common->keys[i], tree_copy(common->items[i]));
    const struct tree *images = tree_get(k, "images");
    struct tree *container;
    for (size_t at = 0; (container = pod_container(pod_spec(o), at)) != NULL; at++) {
        const struct tree *image = tree_get(container, "image");
        const struct tree *rule = NULL; /* the last rule for the image wins */
        for (size_t i = 0; image && i < tree_seq_len(images); i++)
            if (tree_equal(tree_get(images->items[i], "name"), image))
                rule = images->items[i];
        if (!rule)
            continue;
        const struct tree *name = tree_get(rule, "newName");
        const struct tree *tag = tree_get(rule, "newTag");
        char text[600];
        snprintf(text, sizeof text, "%s:%s", show(name ? name : tree_get(rule, "name")),
                 tag ? show(tag) : "latest");
        tree_set(container, "image", tree_new_str(text));
    }
}

struct tree *kustomize_render(const char *directory, char *err, size_t err_len)
{
    char path[4096];
    struct tree **docs = NULL, **resource = NULL;
    size_t n_docs = 0, n_resource = 0;
    struct tree *objects = tree_new_seq();
    snprintf(path, sizeof path, "%s/kustomization.yaml", directory);
    if (!tree_load_file(path, &docs, &n_docs, err, err_len))
        goto fail;
    const struct tree *k = n_docs ? docs[0] : NULL;
    const struct tree *resources = tree_get(k, "resources");
    for (size_t r = 0; r < tree_seq_len(resources); r++) {
        snprintf(path, sizeof path, "%s/%s", directory, show(resources->items[r]));
        if (!tree_load_file(path, &resource, &n_resource, err, err_len))
            goto fail;
        for (size_t i = 0; i < n_resource; i++)
            tree_append(objects, resource[i]);
        free(resource);
        resource = NULL;
    }
    if (!generate(directory, k, objects, err, err_len))
        goto fail;
    for (size_t i = 0; i < objects->n; i++)
        if (objects->items[i]->type == TREE_MAP)
            customise(k, objects->items[i]);
    tree_free_all(docs, n_docs);
    return objects;
fail:
    tree_free_all(docs, n_docs);
    tree_free(objects);
    return NULL;
}

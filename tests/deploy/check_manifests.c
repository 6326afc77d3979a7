/* check-manifests (ctest deploy_manifests): holds the Kubernetes objects rendered from deploy/k8s
 * and deploy/compose.yaml to the rules of manifest_checks.c. --self-test breaks copies on purpose
 * and fails unless every breakage is caught, so the check itself cannot pass vacuously. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kustomize.h"
#include "manifest_checks.h"
#include "tree.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char USAGE[] =
    "usage:\n"
    "  check-manifests k8s RENDERED.yaml        (kubectl kustomize output)\n"
    "  check-manifests k8s --render DIR         (a minimal kustomize of our own, no kubectl)\n"
    "  check-manifests pods RENDERED.yaml       (only the pod security of each object: the Job)\n"
    "  check-manifests compose COMPOSE.yaml\n"
    "  check-manifests --self-test RENDERED.yaml COMPOSE.yaml\n"
    "  check-manifests --self-test --render DIR COMPOSE.yaml\n";

/* Where a breakage's edit applies. */
enum scope {
    FIRST_CONTAINER, /* the first container of the Deployment named name */
    POD_SPEC,        /* the pod template's spec of the Deployment named name */
    FIRST_OBJECT,    /* the first object of kind (and base name name, when given) */
    EACH_OBJECT,     /* every object of kind (and base name name, when given) */
    DOCUMENT,        /* the compose file's document */
};

enum op {
    SET,        /* the last key of path becomes value (the keys before it must exist) */
    REMOVE,     /* the last key of path is removed (it must exist) */
    REMOVE_ANY, /* the last key of path is removed where it exists */
    APPEND,     /* value is appended to the sequence at path */
    DROP,       /* the object itself is removed from the list */
};

struct edit {
    enum scope scope;
    const char *kind, *name;
    const char *path; /* keys separated by spaces; "*" steps into each item of a sequence */
    enum op op;
    const char *value; /* YAML, for SET and APPEND */
};

struct breakage {
    const char *what;
    struct edit edits[2]; /* the second is unused when its path and op are zero */
};

static const struct breakage K8S_BREAKAGES[] = {
    {"root filesystem writable",
     {{FIRST_CONTAINER, NULL, "reco", "securityContext readOnlyRootFilesystem", SET, "false"}}},
    {"runAsNonRoot off",
     {{FIRST_CONTAINER, NULL, "auth", "securityContext runAsNonRoot", REMOVE, NULL},
      {POD_SPEC, NULL, "auth", "securityContext runAsNonRoot", REMOVE, NULL}}},
    {"capability added",
     {{FIRST_CONTAINER, NULL, "reco", "securityContext capabilities add", SET, "[NET_ADMIN]"}}},
    {"no seccomp",
     {{FIRST_CONTAINER, NULL, "auth", "securityContext seccompProfile", REMOVE, NULL},
      {POD_SPEC, NULL, "auth", "securityContext seccompProfile", REMOVE, NULL}}},
    {"privilege escalation",
     {{FIRST_CONTAINER, NULL, "reco", "securityContext allowPrivilegeEscalation", REMOVE, NULL}}},
    {"hostPath volume",
     {{POD_SPEC, NULL, "reco", "volumes", APPEND, "{name: h, hostPath: {path: /}}"}}},
    {"hostNetwork", {{POD_SPEC, NULL, "auth", "hostNetwork", SET, "true"}}},
    {"no readiness probe", {{FIRST_CONTAINER, NULL, "reco", "readinessProbe", REMOVE, NULL}}},
    {"no startup probe", {{FIRST_CONTAINER, NULL, "auth", "startupProbe", REMOVE, NULL}}},
    {"probe on an undeclared port",
     {{FIRST_CONTAINER, NULL, "reco", "livenessProbe httpGet port", SET, "9999"}}},
    {"no cpu limit", {{FIRST_CONTAINER, NULL, "reco", "resources limits cpu", REMOVE, NULL}}},
    {"headless Service lost", {{EACH_OBJECT, "Service", NULL, "spec clusterIP", SET, "10.0.0.1"}}},
    {"HPA gone", {{FIRST_OBJECT, "HorizontalPodAutoscaler", NULL, "", DROP, NULL}}},
    {"PDB gone", {{EACH_OBJECT, "PodDisruptionBudget", NULL, "", DROP, NULL}}},
    {"RPC port open to all",
     {{EACH_OBJECT, "NetworkPolicy", NULL, "spec ingress * from", REMOVE_ANY, NULL}}},
    {"endpoint not the headless name",
     {{EACH_OBJECT, "ConfigMap", "auth-config", "data RECO_ENDPOINTS", SET, "tcp://reco:7100"}}},
    {"secret in a ConfigMap",
     {{EACH_OBJECT, "ConfigMap", NULL, "data SPOTIFY_CLIENT_SECRET", SET, "x"}}},
    {"missing Secret", {{FIRST_OBJECT, "Secret", NULL, "", DROP, NULL}}},
    {"rollout drops capacity",
     {{FIRST_OBJECT, "Deployment", "reco", "spec strategy rollingUpdate maxUnavailable", SET,
       "1"}}},
    {"namespace not restricted",
     {{FIRST_OBJECT, "Namespace", NULL, "metadata labels pod-security.kubernetes.io/enforce",
       REMOVE, NULL}}},
    {"unknown apiVersion",
     {{FIRST_OBJECT, "Deployment", "auth", "apiVersion", SET, "extensions/v1beta1"}}},
};

static const struct breakage COMPOSE_BREAKAGES[] = {
    {"writable root", {{DOCUMENT, NULL, NULL, "services reco-1 read_only", SET, "false"}}},
    {"root user", {{DOCUMENT, NULL, NULL, "services auth user", REMOVE, NULL}}},
    {"one compute service", {{DOCUMENT, NULL, NULL, "services reco-2", REMOVE, NULL}}},
    {"shell healthcheck",
     {{DOCUMENT, NULL, NULL, "services auth healthcheck test", SET, "[CMD-SHELL, 'true']"}}},
    {"model volume writable",
     {{DOCUMENT, NULL, NULL, "services reco-1 volumes", SET,
       "['models:/var/lib/mixtape/models']"}}},
    {"front misses an instance",
     {{DOCUMENT, NULL, NULL, "services auth environment RECO_ENDPOINTS", SET,
       "'tcp://reco-1:7100'"}}},
};

/* Applies op at the space-separated path below node; returns how many places it changed, or
 * 0 when a key on the way (or the one to remove) is missing. */
static size_t apply_path(struct tree *node, const char *path, const struct edit *e)
{
    if (!path || !node)
        return 0;
    while (*path == ' ')
        path++;
    const char *space = strchr(path, ' ');
    char key[256];
    size_t len = space ? (size_t)(space - path) : strlen(path);
    if (len >= sizeof key)
        return 0;
    memcpy(key, path, len);
    key[len] = '\0';
    if (strcmp(key, "*") == 0) {
        size_t changed = 0;
        for (size_t i = 0; node->type == TREE_SEQ && i < node->n; i++)
            changed += apply_path(node->items[i], space ? space : "", e);
        return changed;
    }
    if (space)
        return apply_path(tree_get(node, key), space, e);
    if (node->type != TREE_MAP)
        return 0;
    char err[256];
    struct tree *value = NULL;
    switch (e->op) {
    case SET:
        value = tree_parse(e->value, err, sizeof err);
        if (!value)
            return 0;
        tree_set(node, key, value);
        return 1;
    case REMOVE:
        return tree_remove(node, key) ? 1 : 0;
    case REMOVE_ANY:
        tree_remove(node, key);
        return 1;
    case APPEND: {
        struct tree *seq = tree_get(node, key);
        value = tree_parse(e->value, err, sizeof err);
        if (!seq || seq->type != TREE_SEQ || !value) {
            tree_free(value);
            return 0;
        }
        tree_append(seq, value);
        return 1;
    }
    case DROP:
        return 0;
    }
    return 0;
}

static bool selected(const struct tree *o, const struct edit *e)
{
    const char *name = tree_str(tree_at(o, "metadata", "name", NULL));
    char base[256];
    return tree_equal_str(tree_get(o, "kind"), e->kind) &&
           (!e->name || (name && strcmp(base_name(name, base, sizeof base), e->name) == 0));
}

/* Applies one edit to the objects (a TREE_SEQ) or the compose document; false when it could
 * not be made (what it names is not there). */
static bool apply(struct tree *root, const struct edit *e)
{
    switch (e->scope) {
    case DOCUMENT:
        return apply_path(root, e->path, e) > 0;
    case FIRST_CONTAINER:
    case POD_SPEC: {
        struct tree *spec = pod_spec(find_deployment(root, e->name));
        if (e->scope == POD_SPEC)
            return apply_path(spec, e->path, e) > 0;
        struct tree *containers = tree_get(spec, "containers");
        return tree_len(containers) > 0 && containers->type == TREE_SEQ &&
               apply_path(containers->items[0], e->path, e) > 0;
    }
    case FIRST_OBJECT:
    case EACH_OBJECT: {
        size_t changed = 0;
        for (size_t i = 0; i < root->n; i++) {
            if (!selected(root->items[i], e))
                continue;
            if (e->op == DROP) {
                tree_remove_item(root, i--);
                changed++;
            } else {
                changed += apply_path(root->items[i], e->path, e);
            }
            if (e->scope == FIRST_OBJECT)
                break;
        }
        return changed > 0;
    }
    }
    return false;
}

/* Breaks a copy of root each way in the table; counts (into *missed) the breakages the check
 * did not catch or that could not be made, saying which on stderr. */
static void try_breakages(const struct tree *root, const struct breakage *table, size_t n,
                          const char *label, void (*check)(const struct tree *, struct problems *),
                          size_t *missed)
{
    for (size_t b = 0; b < n; b++) {
        struct tree *broken = tree_copy(root);
        bool made = true;
        for (size_t e = 0; e < N_OF(table[b].edits); e++) {
            const struct edit *edit = &table[b].edits[e];
            if (edit->path || edit->op == DROP)
                made &= apply(broken, edit);
        }
        struct problems p = {0};
        check(broken, &p);
        if (!made) {
            fprintf(stderr, "check_manifests self-test: %s breakage could not be made: %s\n", label,
                    table[b].what);
            (*missed)++;
        } else if (p.n == 0) {
            fprintf(stderr, "check_manifests self-test: %s breakage not caught: %s\n", label,
                    table[b].what);
            (*missed)++;
        }
        problems_free(&p);
        tree_free(broken);
    }
}

/* The problems as one line, "; "-separated, for the self-test's report. */
static void print_joined(const char *what, const struct problems *p)
{
    fprintf(stderr, "check_manifests self-test: %s: ", what);
    for (size_t i = 0; i < p->n; i++)
        fprintf(stderr, "%s%s", i ? "; " : "", p->lines[i]);
    fputc('\n', stderr);
}

static int self_test(struct tree *objects, const struct tree *compose)
{
    size_t missed = 0;
    struct problems p = {0};
    check_k8s(objects, &p);
    if (p.n) {
        print_joined("the unbroken manifests fail", &p);
        missed++;
    }
    problems_free(&p);
    check_compose(compose, &p);
    if (p.n) {
        print_joined("the unbroken compose file fails", &p);
        missed++;
    }
    problems_free(&p);
    try_breakages(objects, K8S_BREAKAGES, N_OF(K8S_BREAKAGES), "k8s", check_k8s, &missed);
    try_breakages(compose, COMPOSE_BREAKAGES, N_OF(COMPOSE_BREAKAGES), "compose", check_compose,
                  &missed);
    printf("check_manifests self-test: %zu k8s and %zu compose breakages, %zu missed\n",
           N_OF(K8S_BREAKAGES), N_OF(COMPOSE_BREAKAGES), missed);
    return missed ? 1 : 0;
}

/* Every document of path as a TREE_SEQ, or NULL (the reason printed). */
static struct tree *load_objects(const char *path)
{
    struct tree **docs;
    size_t n_docs;
    char err[512];
    if (!tree_load_file(path, &docs, &n_docs, err, sizeof err)) {
        fprintf(stderr, "check_manifests: %s\n", err);
        return NULL;
    }
    struct tree *objects = tree_new_seq();
    for (size_t i = 0; i < n_docs; i++)
        tree_append(objects, docs[i]);
    free(docs);
    return objects;
}

static struct tree *render(const char *directory)
{
    char err[512];
    struct tree *objects = kustomize_render(directory, err, sizeof err);
    if (!objects)
        fprintf(stderr, "check_manifests: %s\n", err);
    return objects;
}

/* Prints each problem on stderr; returns the exit status (1 when there is any). */
static int report(const struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        fprintf(stderr, "check_manifests: %s\n", p->lines[i]);
    return p->n ? 1 : 0;
}

/* The objects' kinds, sorted and without repeats ("?" for none), for the summary line. */
static void kinds_of(const struct tree *objects, char *buf, size_t len)
{
    const char *kinds[256];
    size_t n = 0;
    for (size_t i = 0; i < objects->n && n < N_OF(kinds); i++) {
        const char *kind = tree_str(tree_get(objects->items[i], "kind"));
        kind = kind ? kind : "?";
        size_t at = 0;
        while (at < n && strcmp(kinds[at], kind) < 0)
            at++;
        if (at < n && strcmp(kinds[at], kind) == 0)
            continue;
        memmove(kinds + at + 1, kinds + at, (n - at) * sizeof *kinds);
        kinds[at] = kind;
        n++;
    }
    buf[0] = '\0';
    for (size_t i = 0, used = 0; i < n && used < len; i++, used = strlen(buf))
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", kinds[i]);
}

int main(int argc, char **argv)
{
    struct problems p = {0};
    struct tree *objects = NULL, *compose = NULL;
    int status = 1;
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--self-test") == 0) {
        bool rendered = argc == 5 && strcmp(argv[2], "--render") == 0;
        if (argc == 5 && !rendered)
            goto usage;
        objects = rendered ? render(argv[3]) : load_objects(argv[2]);
        compose = load_objects(argv[argc - 1]);
        if (objects && compose && tree_len(compose) == 0)
            fprintf(stderr, "check_manifests: %s holds no document\n", argv[argc - 1]);
        else if (objects && compose)
            status = self_test(objects, compose->items[0]);
        goto done;
    } else if (argc == 4 && strcmp(argv[1], "k8s") == 0 && strcmp(argv[2], "--render") == 0) {
        objects = render(argv[3]);
    } else if (argc == 3 && strcmp(argv[1], "k8s") == 0) {
        objects = load_objects(argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "pods") == 0) {
        objects = load_objects(argv[2]);
        if (objects) {
            check_pods(objects, &p);
            status = report(&p);
            printf("check_manifests: pods of %s: %zu problem(s)\n", argv[2], p.n);
        }
        goto done;
    } else if (argc == 3 && strcmp(argv[1], "compose") == 0) {
        compose = load_objects(argv[2]);
        if (compose) {
            check_compose(tree_len(compose) ? compose->items[0] : NULL, &p);
            status = report(&p);
            printf("check_manifests: compose %s: %zu problem(s)\n", argv[2], p.n);
        }
        goto done;
    } else {
        goto usage;
    }
    if (objects) { /* k8s */
        char kinds[1024];
        check_k8s(objects, &p);
        status = report(&p);
        kinds_of(objects, kinds, sizeof kinds);
        printf("check_manifests: %zu objects (%s): %zu problem(s)\n", objects->n, kinds, p.n);
    }
    goto done;
usage:
    fputs(USAGE, stderr);
    status = 2;
done:
    problems_free(&p);
    tree_free(objects);
    tree_free(compose);
    return status;
}

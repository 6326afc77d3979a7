/* The deployment files' policy rules: see manifest_checks.h. The messages name what is wrong
 * the way an operator reads the manifests (Kind/name container c: rule). */
#include "manifest_checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Volume types the restricted profile allows. */
static const char *const ALLOWED_VOLUMES[] = {
    "configMap", "csi",    "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
};

static const struct {
    const char *kind, *api;
} KNOWN_API[] = {
    {"Namespace", "v1"},
    {"Service", "v1"},
    {"ConfigMap", "v1"},
    {"Secret", "v1"},
    {"PersistentVolumeClaim", "v1"},
    {"Deployment", "apps/v1"},
    {"Job", "batch/v1"},
    {"HorizontalPodAutoscaler", "autoscaling/v2"},
    {"PodDisruptionBudget", "policy/v1"},
    {"NetworkPolicy", "networking.k8s.io/v1"},
};

void problems_add(struct problems *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->lines = xrealloc(p->lines, p->cap * sizeof *p->lines);
    }
    p->lines[p->n++] = xstrdup(line);
}

void problems_free(struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->lines[i]);
    free(p->lines);
    *p = (struct problems){0};
}

/* A node as a message shows it (tree_format), in one of a few rotating buffers, so one
 * message can show several. */
static const char *show(const struct tree *node)
{
    static char bufs[8][512];
    static unsigned next;
    char *buf = bufs[next++ % N_OF(bufs)];
    return tree_format(node, buf, sizeof bufs[0]);
}

static bool kind_is(const struct tree *o, const char *kind)
{
    return tree_equal_str(tree_get(o, "kind"), kind);
}

bool is_pod_object(const struct tree *o)
{
    return kind_is(o, "Deployment") || kind_is(o, "Job");
}

struct tree *pod_spec(const struct tree *o)
{
    return is_pod_object(o) ? tree_at(o, "spec", "template", "spec", NULL) : NULL;
}

struct tree *pod_container(const struct tree *spec, size_t k)
{
    const struct tree *containers = tree_get(spec, "containers");
    const struct tree *init = tree_get(spec, "initContainers");
    if (k < tree_seq_len(containers))
        return containers->items[k];
    k -= tree_seq_len(containers);
    return k < tree_seq_len(init) ? init->items[k] : NULL;
}

/* Kind/name of an object, "None" standing for what is missing. */
static const char *name_of(const struct tree *o)
{
    static char bufs[4][512];
    static unsigned next;
    char *buf = bufs[next++ % N_OF(bufs)];
    snprintf(buf, sizeof bufs[0], "%s/%s", show(tree_get(o, "kind")),
             show(tree_at(o, "metadata", "name", NULL)));
    return buf;
}

const char *base_name(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s", name);
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || strlen(dash + 1) != 10)
        return buf;
    for (const char *c = dash + 1; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return buf;
    if ((size_t)(dash - name) < len)
        buf[dash - name] = '\0';
    return buf;
}

/* Whether o's metadata.name, without its hash, is name. */
static bool base_name_is(const struct tree *o, const char *name)
{
    const char *full = tree_str(tree_at(o, "metadata", "name", NULL));
    char buf[256];
    return full && strcmp(base_name(full, buf, sizeof buf), name) == 0;
}

struct tree *find_deployment(const struct tree *objects, const char *name)
{
    for (size_t i = 0; i < tree_seq_len(objects); i++)
        if (kind_is(objects->items[i], "Deployment") && base_name_is(objects->items[i], name))
            return objects->items[i];
    return NULL;
}

/* Whether an object of kind is named exactly name (with hashed names as rendered). */
static bool exists(const struct tree *objects, const char *kind, const struct tree *name)
{
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *o = objects->items[i];
        const struct tree *n = tree_at(o, "metadata", "name", NULL);
        if (kind_is(o, kind) && tree_truthy(n) && tree_equal(n, name))
            return true;
    }
    return false;
}

/* Whether selector is not empty and the pod carries every label it names. */
static bool matches(const struct tree *selector, const struct tree *labels)
{
    if (!tree_truthy(selector) || selector->type != TREE_MAP)
        return false;
    for (size_t i = 0; i < selector->n; i++) {
        const struct tree *have = tree_get(labels, selector->keys[i]);
        if (!tree_equal(have, selector->items[i]) &&
            !(!have && selector->items[i]->type == TREE_NULL))
            return false;
    }
    return true;
}

/* A key of a security context: the container's when it has the key, else the pod's. */
static const struct tree *effective(const struct tree *sc, const struct tree *psc, const char *key)
{
    const struct tree *own = tree_get(sc, key);
    return own ? own : tree_get(psc, key);
}

static void check_container_security(const struct tree *c, const char *where,
                                     const struct tree *psc, struct problems *p)
{
    char cw[600];
    snprintf(cw, sizeof cw, "%s container %s", where, show(tree_get(c, "name")));
    const struct tree *sc = tree_get(c, "securityContext");
    if (!tree_is_true(effective(sc, psc, "runAsNonRoot")))
        problems_add(p, "%s: runAsNonRoot is not true", cw);
    if (tree_equal_int(effective(sc, psc, "runAsUser"), 0))
        problems_add(p, "%s: runAsUser is 0", cw);
    const struct tree *type = tree_get(effective(sc, psc, "seccompProfile"), "type");
    if (!tree_equal_str(type, "RuntimeDefault") && !tree_equal_str(type, "Localhost"))
        problems_add(p, "%s: seccompProfile is not RuntimeDefault", cw);
    if (!tree_is_false(tree_get(sc, "allowPrivilegeEscalation")))
        problems_add(p, "%s: allowPrivilegeEscalation is not false", cw);
    if (tree_truthy(tree_get(sc, "privileged")))
        problems_add(p, "%s: privileged", cw);
    const struct tree *caps = tree_get(sc, "capabilities");
    if (!tree_seq_has_str(tree_get(caps, "drop"), "ALL"))
        problems_add(p, "%s: capabilities do not drop ALL", cw);
    const struct tree *add = tree_get(caps, "add");
    for (size_t i = 0; i < tree_seq_len(add); i++)
        if (!tree_equal_str(add->items[i], "NET_BIND_SERVICE")) {
            problems_add(p, "%s: adds capabilities %s", cw, show(add));
            break;
        }
    if (!tree_is_true(tree_get(sc, "readOnlyRootFilesystem")))
        problems_add(p, "%s: readOnlyRootFilesystem is not true", cw);
    const struct tree *ports = tree_get(c, "ports");
    for (size_t i = 0; i < tree_seq_len(ports); i++) {
        const struct tree *host = tree_get(ports->items[i], "hostPort");
        if (tree_truthy(host))
            problems_add(p, "%s: hostPort %s", cw, show(host));
    }
    static const char *const PARTS[] = {"requests", "limits"};
    static const char *const RESOURCES[] = {"cpu", "memory"};
    for (size_t part = 0; part < N_OF(PARTS); part++)
        for (size_t r = 0; r < N_OF(RESOURCES); r++)
            if (!tree_get(tree_at(c, "resources", PARTS[part], NULL), RESOURCES[r]))
                problems_add(p, "%s: no %s.%s", cw, PARTS[part], RESOURCES[r]);
}

static void check_pod_security(const struct tree *o, struct problems *p)
{
    const char *where = name_of(o);
    char where_copy[512];
    snprintf(where_copy, sizeof where_copy, "%s", where);
    const struct tree *spec = pod_spec(o);
    const struct tree *psc = tree_get(spec, "securityContext");
    static const char *const HOST[] = {"hostNetwork", "hostPID", "hostIPC"};
    for (size_t i = 0; i < N_OF(HOST); i++)
        if (tree_truthy(tree_get(spec, HOST[i])))
            problems_add(p, "%s: %s is set", where_copy, HOST[i]);
    const struct tree *automount = tree_get(spec, "automountServiceAccountToken");
    if (!automount || tree_truthy(automount))
        problems_add(p, "%s: automountServiceAccountToken is not false", where_copy);
    const struct tree *volumes = tree_get(spec, "volumes");
    for (size_t i = 0; i < tree_seq_len(volumes); i++) {
        const struct tree *v = volumes->items[i];
        char kinds[512] = "";
        bool forbidden = false;
        for (size_t k = 0; v->type == TREE_MAP && k < v->n; k++) {
            if (strcmp(v->keys[k], "name") == 0)
                continue;
            bool allowed = false;
            for (size_t a = 0; a < N_OF(ALLOWED_VOLUMES); a++)
                allowed |= strcmp(v->keys[k], ALLOWED_VOLUMES[a]) == 0;
            forbidden |= !allowed;
            size_t used = strlen(kinds);
            snprintf(kinds + used, sizeof kinds - used, "%s%s", used ? ", " : "", v->keys[k]);
        }
        if (forbidden)
            problems_add(p, "%s: volume %s is of a type the restricted profile forbids (%s)",
                         where_copy, show(tree_get(v, "name")), kinds);
    }
    const struct tree *c;
    for (size_t k = 0; (c = pod_container(spec, k)) != NULL; k++)
        check_container_security(c, where_copy, psc, p);
}

/* Whether target (a port name or number) is among the container's declared ports. */
static bool declares_port(const struct tree *c, const struct tree *target)
{
    const struct tree *ports = tree_get(c, "ports");
    for (size_t i = 0; i < tree_seq_len(ports); i++)
        if (tree_equal(tree_get(ports->items[i], "name"), target) ||
            tree_equal(tree_get(ports->items[i], "containerPort"), target))
            return true;
    return false;
}

static void check_probes(const struct tree *o, struct problems *p)
{
    const struct tree *containers = tree_get(pod_spec(o), "containers");
    static const char *const PROBES[] = {"startupProbe", "readinessProbe", "livenessProbe"};
    static const char *const HANDLERS[] = {"httpGet", "tcpSocket", "grpc", "exec"};
    for (size_t i = 0; i < tree_seq_len(containers); i++) {
        const struct tree *c = containers->items[i];
        char cw[600];
        snprintf(cw, sizeof cw, "%s container %s", name_of(o), show(tree_get(c, "name")));
        for (size_t pr = 0; pr < N_OF(PROBES); pr++) {
            const struct tree *probe = tree_get(c, PROBES[pr]);
            if (!tree_truthy(probe)) {
                problems_add(p, "%s: no %s", cw, PROBES[pr]);
                continue;
            }
            const struct tree *target = NULL;
            for (size_t h = 0; h < N_OF(HANDLERS) && !target; h++)
                if (tree_truthy(tree_get(probe, HANDLERS[h])))
                    target = tree_get(probe, HANDLERS[h]);
            const struct tree *port = tree_get(target, "port");
            if (!target)
                problems_add(p, "%s: %s has no handler", cw, PROBES[pr]);
            else if (port && !declares_port(c, port))
                problems_add(p, "%s: %s uses port %s, not one the container declares", cw,
                             PROBES[pr], show(port));
        }
        const struct tree *path = tree_at(c, "readinessProbe", "httpGet", "path", NULL);
        if (path && path->type != TREE_NULL && !tree_equal_str(path, "/readyz"))
            problems_add(p, "%s: readinessProbe is not /readyz", cw);
    }
}

static void check_rollout(const struct tree *o, struct problems *p)
{
    const struct tree *spec = tree_get(o, "spec");
    const struct tree *selector = tree_at(spec, "selector", "matchLabels", NULL);
    if (!matches(selector, tree_at(spec, "template", "metadata", "labels", NULL)))
        problems_add(p, "%s: selector does not match its pod labels", name_of(o));
    const struct tree *strategy = tree_get(spec, "strategy");
    const struct tree *max = tree_at(strategy, "rollingUpdate", "maxUnavailable", NULL);
    if (!tree_equal_str(tree_get(strategy, "type"), "RollingUpdate") ||
        !(tree_equal_int(max, 0) || tree_equal_str(max, "0") || tree_equal_str(max, "0%")))
        problems_add(p, "%s: rollout may take capacity away (want RollingUpdate, maxUnavailable 0)",
                     name_of(o));
}

/* Every ConfigMap, Secret and claim a pod names exists. */
static void check_references(const struct tree *objects, const struct tree *o, struct problems *p)
{
    const struct tree *spec = pod_spec(o);
    static const struct {
        const char *kind, *key;
    } REFS[] = {{"ConfigMap", "configMapRef"}, {"Secret", "secretRef"}};
    const struct tree *c;
    for (size_t k = 0; (c = pod_container(spec, k)) != NULL; k++) {
        const struct tree *env_from = tree_get(c, "envFrom");
        for (size_t e = 0; e < tree_seq_len(env_from); e++)
            for (size_t r = 0; r < N_OF(REFS); r++) {
                const struct tree *ref = tree_get(env_from->items[e], REFS[r].key);
                const struct tree *name = tree_get(ref, "name");
                if (ref && !exists(objects, REFS[r].kind, name))
                    problems_add(p, "%s: %s %s does not exist", name_of(o), REFS[r].kind,
                                 show(name));
            }
        const struct tree *env = tree_get(c, "env");
        for (size_t e = 0; e < tree_seq_len(env); e++) {
            const struct tree *skr = tree_at(env->items[e], "valueFrom", "secretKeyRef", NULL);
            if (tree_truthy(skr) && !exists(objects, "Secret", tree_get(skr, "name")))
                problems_add(p, "%s: Secret %s does not exist", name_of(o),
                             show(tree_get(skr, "name")));
        }
    }
    const struct tree *volumes = tree_get(spec, "volumes");
    for (size_t i = 0; i < tree_seq_len(volumes); i++) {
        const struct tree *v = volumes->items[i];
        const struct tree *secret = tree_at(v, "secret", "secretName", NULL);
        if (tree_get(v, "secret") && !exists(objects, "Secret", secret))
            problems_add(p, "%s: Secret %s does not exist", name_of(o), show(secret));
        const struct tree *config = tree_at(v, "configMap", "name", NULL);
        if (tree_get(v, "configMap") && !exists(objects, "ConfigMap", config))
            problems_add(p, "%s: ConfigMap %s does not exist", name_of(o), show(config));
        const struct tree *pvc = tree_get(v, "persistentVolumeClaim");
        if (tree_truthy(pvc) &&
            !exists(objects, "PersistentVolumeClaim", tree_get(pvc, "claimName")))
            problems_add(p, "%s: claim %s does not exist", name_of(o),
                         show(tree_get(pvc, "claimName")));
    }
}

/* Each object has a kind, an apiVersion we expect for it and a name. */
static void check_kinds(const struct tree *objects, struct problems *p)
{
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *o = objects->items[i];
        const struct tree *kind = tree_get(o, "kind"), *api = tree_get(o, "apiVersion");
        if (o->type != TREE_MAP || !kind || !api) {
            char text[81];
            problems_add(p, "an object without kind/apiVersion: %s",
                         tree_format(o, text, sizeof text));
            continue;
        }
        if (!tree_truthy(tree_at(o, "metadata", "name", NULL)))
            problems_add(p, "%s without metadata.name", show(kind));
        const char *want = NULL;
        for (size_t k = 0; k < N_OF(KNOWN_API) && !want; k++)
            if (tree_equal_str(kind, KNOWN_API[k].kind))
                want = KNOWN_API[k].api;
        if (!want)
            problems_add(p, "%s: kind not expected here", name_of(o));
        else if (!tree_equal_str(api, want))
            problems_add(p, "%s: apiVersion %s, want %s", name_of(o), show(api), want);
    }
}

/* The first object of kind that pred accepts (pred NULL: any), or NULL. */
static const struct tree *first_of(const struct tree *objects, const char *kind,
                                   bool (*pred)(const struct tree *o, const void *arg),
                                   const void *arg)
{
    for (size_t i = 0; i < tree_seq_len(objects); i++)
        if (kind_is(objects->items[i], kind) && (!pred || pred(objects->items[i], arg)))
            return objects->items[i];
    return NULL;
}

static bool is_headless_for(const struct tree *s, const void *labels)
{
    return tree_equal_str(tree_at(s, "spec", "clusterIP", NULL), "None") &&
           matches(tree_at(s, "spec", "selector", NULL), labels);
}

static bool is_service_for(const struct tree *s, const void *labels)
{
    return matches(tree_at(s, "spec", "selector", NULL), labels) &&
           !tree_equal_str(tree_at(s, "spec", "clusterIP", NULL), "None");
}

static bool targets(const struct tree *hpa, const void *deployment)
{
    return tree_equal(tree_at(hpa, "spec", "scaleTargetRef", "name", NULL),
                      tree_at(deployment, "metadata", "name", NULL));
}

static bool covers(const struct tree *pdb, const void *labels)
{
    return matches(tree_at(pdb, "spec", "selector", "matchLabels", NULL), labels);
}

/* Only the fronts reach compute's RPC port. */
static void check_network_policies(const struct tree *objects, const struct tree *reco_labels,
                                   const struct tree *auth_labels, struct problems *p)
{
    bool any = false;
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *np = objects->items[i];
        if (!kind_is(np, "NetworkPolicy") ||
            !matches(tree_at(np, "spec", "podSelector", "matchLabels", NULL), reco_labels))
            continue;
        any = true;
        if (!tree_seq_has_str(tree_at(np, "spec", "policyTypes", NULL), "Ingress"))
            problems_add(p, "%s: not an Ingress policy", name_of(np));
        const struct tree *rules = tree_at(np, "spec", "ingress", NULL);
        for (size_t r = 0; r < tree_seq_len(rules); r++) {
            const struct tree *rule = rules->items[r];
            const struct tree *ports = tree_get(rule, "ports");
            bool rpc = false;
            for (size_t q = 0; q < tree_seq_len(ports); q++) {
                const struct tree *port = tree_get(ports->items[q], "port");
                rpc |= tree_equal_int(port, 7100) || tree_equal_str(port, "rpc");
            }
            if (!tree_truthy(ports))
                problems_add(p, "%s: a rule opens every port", name_of(np));
            const struct tree *from = tree_get(rule, "from");
            if (rpc) {
                /* A rule without "from" admits every peer: one empty peer. */
                struct tree *every = NULL;
                if (!from) {
                    every = tree_new_seq();
                    tree_append(every, tree_new_map());
                }
                const struct tree *peers = from ? from : every;
                for (size_t f = 0; f < tree_seq_len(peers); f++) {
                    const struct tree *peer = peers->items[f];
                    if (!matches(tree_at(peer, "podSelector", "matchLabels", NULL), auth_labels) ||
                        tree_get(peer, "namespaceSelector") || tree_get(peer, "ipBlock"))
                        problems_add(p, "%s: port 7100 is open to more than the auth pods",
                                     name_of(np));
                }
                tree_free(every);
            }
            if (!tree_truthy(from))
                problems_add(p, "%s: a rule admits every source", name_of(np));
        }
    }
    if (!any)
        problems_add(p, "no NetworkPolicy selects the reco pods");
}

/* The fronts' configuration: they resolve the headless name of this namespace, read the
 * session keys from a file, and no ConfigMap holds a secret. */
static void check_config(const struct tree *objects, const struct tree *headless,
                         const struct tree *ns, struct problems *p)
{
    const struct tree *config = NULL;
    for (size_t i = 0; i < tree_seq_len(objects); i++)
        if (kind_is(objects->items[i], "ConfigMap") &&
            base_name_is(objects->items[i], "auth-config"))
            config = tree_get(objects->items[i], "data");
    if (headless && tree_truthy(ns)) {
        char want[600];
        snprintf(want, sizeof want, "tcp://%s.%s.svc.cluster.local:7100",
                 show(tree_at(headless, "metadata", "name", NULL)), show(ns));
        const char *endpoints = tree_str(tree_get(config, "RECO_ENDPOINTS"));
        bool named = false;
        for (const char *at = endpoints ? endpoints : ""; at && !named;) {
            const char *comma = strchr(at, ',');
            size_t len = comma ? (size_t)(comma - at) : strlen(at);
            named = len == strlen(want) && strncmp(at, want, len) == 0;
            at = comma ? comma + 1 : NULL;
        }
        if (!named)
            problems_add(p, "auth-config RECO_ENDPOINTS does not name %s", want);
    }
    if (!tree_truthy(tree_get(config, "SESSION_KEYS_FILE")) &&
        !tree_truthy(tree_get(config, "SESSION_KEYS")))
        problems_add(p, "auth-config names no session keys");
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *cm = objects->items[i];
        const struct tree *data = tree_get(cm, "data");
        if (!kind_is(cm, "ConfigMap") || !data || data->type != TREE_MAP)
            continue;
        for (size_t k = 0; k < data->n; k++)
            if (strstr(data->keys[k], "SECRET") || strcmp(data->keys[k], "SESSION_KEYS") == 0)
                problems_add(p, "%s: %s belongs in a Secret", name_of(cm), data->keys[k]);
    }
    bool secrets = false;
    for (size_t i = 0; i < tree_seq_len(objects); i++)
        secrets |=
            kind_is(objects->items[i], "Secret") && base_name_is(objects->items[i], "auth-secrets");
    if (!secrets)
        problems_add(p, "Secret auth-secrets missing");
}

void check_pods(const struct tree *objects, struct problems *p)
{
    bool any = false;
    for (size_t i = 0; i < tree_seq_len(objects); i++)
        if (is_pod_object(objects->items[i])) {
            check_pod_security(objects->items[i], p);
            any = true;
        }
    if (!any)
        problems_add(p, "no object with a pod template");
}

void check_k8s(const struct tree *objects, struct problems *p)
{
    check_kinds(objects, p);
    const struct tree *namespace = first_of(objects, "Namespace", NULL, NULL);
    const struct tree *enforce = tree_get(tree_at(namespace, "metadata", "labels", NULL),
                                          "pod-security.kubernetes.io/enforce");
    if (!tree_equal_str(enforce, "restricted"))
        problems_add(p, "Namespace: not labelled pod-security.kubernetes.io/enforce=restricted");
    const struct tree *ns = tree_at(namespace, "metadata", "name", NULL);
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *o = objects->items[i];
        if (o->type == TREE_MAP && !kind_is(o, "Namespace") &&
            !tree_equal(tree_at(o, "metadata", "namespace", NULL), ns))
            problems_add(p, "%s: not in namespace %s", name_of(o), show(ns));
    }

    /* The last Deployment of each base name counts. */
    const struct tree *reco = NULL, *auth = NULL;
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *o = objects->items[i];
        if (kind_is(o, "Deployment") && base_name_is(o, "reco"))
            reco = o;
        if (kind_is(o, "Deployment") && base_name_is(o, "auth"))
            auth = o;
    }
    if (!reco)
        problems_add(p, "Deployment/reco missing");
    if (!auth)
        problems_add(p, "Deployment/auth missing");
    for (size_t i = 0; i < tree_seq_len(objects); i++) {
        const struct tree *o = objects->items[i];
        if (!is_pod_object(o))
            continue;
        check_pod_security(o, p);
        if (kind_is(o, "Deployment")) {
            check_probes(o, p);
            check_rollout(o, p);
        }
        check_references(objects, o, p);
    }

    const struct tree *reco_labels = tree_at(reco, "spec", "template", "metadata", "labels", NULL);
    const struct tree *auth_labels = tree_at(auth, "spec", "template", "metadata", "labels", NULL);
    const struct tree *headless = first_of(objects, "Service", is_headless_for, reco_labels);
    if (!headless) {
        problems_add(p, "no headless Service (clusterIP None) selects the reco pods");
    } else {
        const struct tree *ports = tree_at(headless, "spec", "ports", NULL);
        bool rpc = false;
        for (size_t i = 0; i < tree_seq_len(ports); i++)
            rpc |= tree_equal_int(tree_get(ports->items[i], "port"), 7100);
        if (!rpc)
            problems_add(p, "the headless Service does not carry port 7100");
    }
    if (!first_of(objects, "Service", is_service_for, auth_labels))
        problems_add(p, "no Service selects the auth pods");
    check_config(objects, headless, ns, p);

    const struct tree *hpa = first_of(objects, "HorizontalPodAutoscaler", targets, reco);
    if (!hpa) {
        problems_add(p, "no HorizontalPodAutoscaler targets Deployment reco");
    } else {
        const struct tree *metrics = tree_at(hpa, "spec", "metrics", NULL);
        bool cpu = false;
        for (size_t i = 0; i < tree_seq_len(metrics); i++)
            cpu |= tree_equal_str(tree_at(metrics->items[i], "resource", "name", NULL), "cpu");
        if (!cpu)
            problems_add(p, "the reco HorizontalPodAutoscaler does not scale on cpu");
    }
    if (!first_of(objects, "PodDisruptionBudget", covers, reco_labels))
        problems_add(p, "no PodDisruptionBudget covers the reco pods");
    if (!first_of(objects, "PodDisruptionBudget", covers, auth_labels))
        problems_add(p, "no PodDisruptionBudget covers the auth pods");
    check_network_policies(objects, reco_labels, auth_labels, p);
}

/* Whether a scalar's text starts with prefix. */
static bool starts_with(const struct tree *value, const char *prefix)
{
    char text[512];
    return value && value->type != TREE_MAP && value->type != TREE_SEQ &&
           strncmp(tree_format(value, text, sizeof text), prefix, strlen(prefix)) == 0;
}

static bool ends_with(const struct tree *value, const char *suffix)
{
    char text[512];
    if (!value || value->type == TREE_MAP || value->type == TREE_SEQ)
        return false;
    size_t len = strlen(tree_format(value, text, sizeof text)), n = strlen(suffix);
    return len >= n && strcmp(text + len - n, suffix) == 0;
}

/* Whether the comma-separated list holds item exactly. */
static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *at = list; at;) {
        const char *comma = strchr(at, ',');
        size_t len = comma ? (size_t)(comma - at) : strlen(at);
        if (len == n && strncmp(at, item, n) == 0)
            return true;
        at = comma ? comma + 1 : NULL;
    }
    return false;
}

static void check_compose_service(const char *name, const struct tree *s, struct problems *p)
{
    if (!tree_equal_str(tree_get(s, "user"), "65532:65532"))
        problems_add(p, "compose %s: user is not 65532:65532", name);
    if (!tree_is_true(tree_get(s, "read_only")))
        problems_add(p, "compose %s: root filesystem is not read_only", name);
    if (!tree_seq_has_str(tree_get(s, "cap_drop"), "ALL"))
        problems_add(p, "compose %s: cap_drop lacks ALL", name);
    const struct tree *opts = tree_get(s, "security_opt");
    bool no_new = false;
    for (size_t i = 0; i < tree_seq_len(opts); i++)
        no_new |= starts_with(opts->items[i], "no-new-privileges");
    if (!no_new)
        problems_add(p, "compose %s: no no-new-privileges", name);
    if (!tree_get(s, "profiles")) {
        const struct tree *test = tree_at(s, "healthcheck", "test", NULL);
        if (tree_seq_len(test) == 0 || !tree_equal_str(test->items[0], "CMD"))
            problems_add(p, "compose %s: no exec-form healthcheck (the images hold no shell)",
                         name);
    }
}

void check_compose(const struct tree *doc, struct problems *p)
{
    const struct tree *services = tree_get(doc, "services");
    size_t n = services && services->type == TREE_MAP ? services->n : 0;
    bool *is_reco = xcalloc(n + 1, sizeof *is_reco);
    size_t n_reco = 0, n_fronts = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tree *image = tree_get(services->items[i], "image");
        is_reco[i] =
            starts_with(image, "mixtape-reco") && !tree_get(services->items[i], "profiles");
        n_reco += is_reco[i];
        n_fronts += starts_with(image, "mixtape-auth");
    }
    if (n_reco < 2)
        problems_add(p, "compose: %zu compute services, want 2", n_reco);
    if (n_fronts != 1)
        problems_add(p, "compose: %zu fronts, want 1", n_fronts);
    if (!tree_get(tree_get(doc, "volumes"), "models"))
        problems_add(p, "compose: no models volume");
    for (size_t i = 0; i < n; i++)
        check_compose_service(services->keys[i], services->items[i], p);
    for (size_t i = 0; i < n; i++) {
        if (!is_reco[i])
            continue;
        const struct tree *mounts = tree_get(services->items[i], "volumes");
        bool models = false;
        for (size_t m = 0; m < tree_seq_len(mounts); m++)
            models |=
                starts_with(mounts->items[m], "models:") && ends_with(mounts->items[m], ":ro");
        if (!models)
            problems_add(p, "compose %s: does not mount the models volume read-only",
                         services->keys[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (!starts_with(tree_get(services->items[i], "image"), "mixtape-auth"))
            continue;
        const char *name = services->keys[i];
        const struct tree *env = tree_get(services->items[i], "environment");
        const char *endpoints = tree_str(tree_get(env, "RECO_ENDPOINTS"));
        for (size_t r = 0; r < n; r++) {
            char want[300];
            snprintf(want, sizeof want, "tcp://%s:7100", services->keys[r]);
            if (is_reco[r] && !list_has(endpoints ? endpoints : "", want))
                problems_add(p, "compose %s: RECO_ENDPOINTS does not list %s", name,
                             services->keys[r]);
        }
        const struct tree *deps = tree_get(services->items[i], "depends_on");
        for (size_t r = 0; r < n; r++)
            if (is_reco[r] && !tree_equal_str(tree_at(deps, services->keys[r], "condition", NULL),
                                              "service_healthy"))
                problems_add(p, "compose %s: does not wait for %s to be healthy", name,
                             services->keys[r]);
        if (tree_get(env, "SESSION_KEYS"))
            problems_add(p, "compose %s: session keys inline instead of a secret file", name);
    }
    free(is_reco);
}

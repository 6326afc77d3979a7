/* The policy rules of mixtape's deployment files (tests/deploy only): Kubernetes objects held
 * to the restricted Pod Security Standard and issue 14's operating rules, and the compose file's
 * hardening and wiring. Each check appends one line per problem; an empty list means the files
 * pass. */
#ifndef MIXTAPE_MANIFEST_CHECKS_H
#define MIXTAPE_MANIFEST_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "tree.h"

/* Lines that say what is wrong, each naming the object, container or service. */
struct problems {
    char **lines;
    size_t n, cap;
};

void problems_add(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void problems_free(struct problems *p);

/* Every rule for the rendered objects (a TREE_SEQ of the documents). */
void check_k8s(const struct tree *objects, struct problems *p);

/* Only the pod security of each object with a pod template (Deployment, Job); a problem too
 * when there is none. */
void check_pods(const struct tree *objects, struct problems *p);

/* The compose file's rules (its one document). */
void check_compose(const struct tree *doc, struct problems *p);

/* Deployment/Job: true. */
bool is_pod_object(const struct tree *o);

/* The pod template's spec of a Deployment or Job, or NULL (none, or another kind). */
struct tree *pod_spec(const struct tree *o);

/* Container k of a pod spec, counting its containers and then its init containers, or NULL
 * past the last: `for (k = 0; (c = pod_container(spec, k)) != NULL; k++)` visits them all. */
struct tree *pod_container(const struct tree *spec, size_t k);

/* name without the -<10 letters and digits> kustomize appends to generated names, into buf. */
const char *base_name(const char *name, char *buf, size_t len);

/* The first Deployment whose base name is name, or NULL. */
struct tree *find_deployment(const struct tree *objects, const char *name);

#endif

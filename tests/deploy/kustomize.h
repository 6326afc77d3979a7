/* A minimal kustomize for the manifest checker (tests/deploy only): the resources, namespace,
 * commonLabels, images and ConfigMap and Secret generators of one kustomization.yaml, without
 * the name hashes kubectl adds, so deploy/k8s is checked where kubectl is not installed. */
#ifndef MIXTAPE_KUSTOMIZE_H
#define MIXTAPE_KUSTOMIZE_H

#include <stddef.h>

#include "tree.h"

/* Renders directory's kustomization.yaml: its resources' documents, then a ConfigMap per
 * configMapGenerator (its literals) and a Secret per secretGenerator (each file's value
 * "(file)"), each given the namespace (but a Namespace), the common labels and the images'
 * new names and tags. Returns the objects (a TREE_SEQ the caller frees), or NULL with err
 * when a file is missing (a secret file: "run make-secrets.sh first") or not YAML. */
struct tree *kustomize_render(const char *directory, char *err, size_t err_len);

#endif

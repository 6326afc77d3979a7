#!/usr/bin/env bash
# ctest deploy_manifests: renders deploy/k8s (and its model-build Job) with `kubectl kustomize`
# where kubectl is installed, and always with the checker's own small kustomize, then holds the
# objects to the restricted Pod Security Standard and issue 14's rules (check-manifests, built
# from check_manifests.c, whose --self-test must catch every breakage it makes); feeds it
# manifests with known defects and requires each to fail naming the defect; checks
# make-secrets.sh; validates deploy/compose.yaml with docker-compose's schema where installed
# and with the checker.
#   manifests_test.sh SOURCE_DIR CHECK_MANIFESTS_BINARY
set -euo pipefail
src=$1
check=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixtape-manifests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deploy_manifests: FAIL: $*" >&2; exit 1; }

# A copy, so make-secrets.sh writes its secrets there and not into the source tree.
cp -r "$src/deploy/k8s" "$tmp/k8s"
rm -rf "$tmp/k8s/secrets"
cp "$src/deploy/compose.yaml" "$tmp/compose.yaml"

# make-secrets.sh: a 32-byte key, private files, rotation keeps the old key second.
"$tmp/k8s/make-secrets.sh" > /dev/null
keys="$tmp/k8s/secrets/session-keys"
[ "$(stat -c %a "$tmp/k8s/secrets")" = 700 ] || fail "secrets/ is not mode 0700"
[ "$(stat -c %a "$keys")" = 600 ] || fail "session-keys is not mode 0600"
[ "$(base64 -d < "$keys" | wc -c)" -eq 32 ] || fail "the session key is not 32 bytes of base64"
first=$(cat "$keys")
"$tmp/k8s/make-secrets.sh" > /dev/null
[ "$(cat "$keys")" = "$first" ] || fail "a second run replaced the session key"
"$tmp/k8s/make-secrets.sh" --rotate > /dev/null
[ "$(wc -l < "$keys")" -eq 2 ] && [ "$(sed -n 2p "$keys")" = "$first" ] && [ "$(sed -n 1p "$keys")" != "$first" ] ||
  fail "--rotate did not put a new key first and keep the old one"
echo "not-a-real-secret" | "$tmp/k8s/make-secrets.sh" --client-secret > "$tmp/ms.out"
grep -q not-a-real-secret "$tmp/ms.out" && fail "make-secrets printed the client secret"
[ "$(cat "$tmp/k8s/secrets/spotify-client-secret")" = not-a-real-secret ] || fail "client secret not stored"
if "$tmp/k8s/make-secrets.sh" --bogus 2>/dev/null; then fail "make-secrets accepted an unknown argument"; fi

# Kubernetes.
"$check" k8s --render "$tmp/k8s" || fail "deploy/k8s breaks the policy (own rendering)"
if command -v kubectl >/dev/null; then
  kubectl kustomize "$tmp/k8s" > "$tmp/rendered.yaml" 2> "$tmp/kustomize.err" ||
    { cat "$tmp/kustomize.err" >&2; fail "kubectl kustomize deploy/k8s failed"; }
  kubectl kustomize "$tmp/k8s/model-build" > "$tmp/job.yaml" 2> "$tmp/kustomize.err" ||
    { cat "$tmp/kustomize.err" >&2; fail "kubectl kustomize deploy/k8s/model-build failed"; }
  "$check" k8s "$tmp/rendered.yaml" || fail "deploy/k8s breaks the policy (kubectl kustomize)"
  "$check" pods "$tmp/job.yaml" || fail "the model-build Job breaks the policy"
  # The generated names carry their content hash, and the pods name the hashed objects.
  grep -Eq 'name: reco-config-[a-z0-9]{10}$' "$tmp/rendered.yaml" || fail "reco-config has no content hash"
  grep -q 'not-a-real-secret' "$tmp/rendered.yaml" && fail "the client secret is in the rendering unencoded"
  "$check" --self-test "$tmp/rendered.yaml" "$tmp/compose.yaml" || fail "the policy check missed a breakage"
else
  echo "deploy_manifests: kubectl is not installed: checked the checker's own rendering only (deploy/deps.sh test installs Debian's kubernetes-client)"
  "$check" --self-test --render "$tmp/k8s" "$tmp/compose.yaml" || fail "the policy check missed a breakage"
fi

# Known defects: each refused (exit 1) with a line naming it.
expect_defect() {
  local says=$1 rc=0
  shift
  "$check" "$@" > "$tmp/defect.out" 2> "$tmp/defect.err" || rc=$?
  [ "$rc" -eq 1 ] || { cat "$tmp/defect.err" >&2; fail "check-manifests $*: exit $rc, want 1"; }
  grep -qxF "check_manifests: $says" "$tmp/defect.err" ||
    { cat "$tmp/defect.err" >&2; fail "check-manifests $*: does not say '$says'"; }
}
defective="$src/tests/deploy/defective-job.yaml"
expect_defect "Job/defective container work: no limits.cpu" pods "$defective"
expect_defect "Job/defective container work: no limits.memory" pods "$defective"
expect_defect "Job/defective: hostNetwork is set" pods "$defective"
expect_defect "Job/defective: volume host is of a type the restricted profile forbids (hostPath)" \
  pods "$defective"
# The repository's manifests with a probe renamed away and a PodDisruptionBudget left out.
cp -r "$tmp/k8s" "$tmp/k8s-defective"
sed -i 's/^          readinessProbe:$/          readinessProbeGone:/' "$tmp/k8s-defective/reco-deployment.yaml"
sed -i '/^  - auth-pdb.yaml$/d' "$tmp/k8s-defective/kustomization.yaml"
expect_defect "Deployment/reco container reco-service: no readinessProbe" k8s --render "$tmp/k8s-defective"
expect_defect "no PodDisruptionBudget covers the auth pods" k8s --render "$tmp/k8s-defective"
printf 'services: {}\n' > "$tmp/empty-compose.yaml"
expect_defect "compose: 0 compute services, want 2" compose "$tmp/empty-compose.yaml"
printf 'kind: [\n' > "$tmp/not-yaml.yaml"
expect_defect "$tmp/not-yaml.yaml:2:1: did not find expected node content" k8s "$tmp/not-yaml.yaml"

# Compose.
"$check" compose "$tmp/compose.yaml" || fail "deploy/compose.yaml breaks the policy"
if command -v docker-compose >/dev/null; then
  (cd "$tmp" && SPOTIFY_CLIENT_ID=test docker-compose -f compose.yaml --profile tools config -q) ||
    fail "docker-compose rejects deploy/compose.yaml"
  if (cd "$tmp" && env -u SPOTIFY_CLIENT_ID docker-compose -f compose.yaml config -q 2>/dev/null); then
    fail "compose started without SPOTIFY_CLIENT_ID"
  fi
  # The schema check itself rejects a wrong key.
  sed 's/^  reco-1:$/  reco-1:\n    bogus_key: 1/' "$tmp/compose.yaml" > "$tmp/bad.yaml"
  if (cd "$tmp" && SPOTIFY_CLIENT_ID=test docker-compose -f bad.yaml config -q 2>/dev/null); then
    fail "docker-compose accepted an unknown key (schema not checked)"
  fi
else
  echo "deploy_manifests: docker-compose is not installed: compose checked by check-manifests only"
fi
echo "deploy_manifests: ok"

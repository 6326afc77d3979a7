#!/usr/bin/env bash
# ctest deploy_image: builds both OCI images from this build (deploy/image/build.sh), checks
# their configuration (non-root user, entrypoint, labels, health command, only ldd's libraries
# and no shell inside), then runs them as a pod would: reco-model from the reco image builds a
# model into a volume, reco-service serves it read-only, auth-service reaches it over the pod's
# loopback, and each image's own health command answers. Containers run under runc from the
# unpacked image (read-only root filesystem, uid 65532, no capabilities kept) where this machine
# allows it, otherwise the entrypoint runs from the unpacked root filesystem in private mount,
# PID and network namespaces (chroot); MIXTAPE_IMAGE_RUNTIME=runc|chroot forces one.
#   image_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
py=/usr/bin/python3
if [ "$(id -u)" -ne 0 ]; then
  echo "deploy_image: SKIP: needs root (namespaces, runc, chroot)"
  exit 77
fi
for tool in umoci ip unshare nsenter curl $py; do
  command -v "$tool" >/dev/null ||
    { echo "deploy_image: $tool is missing; run deploy/deps.sh test" >&2; exit 1; }
done

# Containers and namespaces of an earlier run killed before its trap ran (a ctest timeout
# sends SIGKILL): that run's pid is in their names and gone now.
if command -v runc >/dev/null; then
  for stale in $(runc list -q 2>/dev/null | grep -E '^mx-mxi-[0-9]+-' || true); do
    owner=${stale#mx-mxi-}
    if ! kill -0 "${owner%%-*}" 2>/dev/null; then
      runc kill "$stale" KILL 2>/dev/null || true
      runc delete -f "$stale" 2>/dev/null || true
    fi
  done
fi
for stale in $(ip netns list | awk '{ print $1 }' | grep -E '^mxi-[0-9]+-' || true); do
  owner=${stale#mxi-}
  if ! kill -0 "${owner%%-*}" 2>/dev/null; then
    ip netns pids "$stale" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$stale" 2>/dev/null || true
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixtape-image.XXXXXX")
ns="mxi-$$-$RANDOM"
containers=()
pids=()
cleanup() {
  local c p
  for c in "${containers[@]}"; do
    runc kill "$c" KILL 2>/dev/null || true
    runc delete -f "$c" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  # Mounts live in the containers' own mount namespaces, gone with them.
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "deploy_image: FAIL: $*" >&2
  for f in "$tmp"/*.log; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

# 1. Build (from this build's binaries: sanitized ones carry their runtime libraries along).
"$src/deploy/image/build.sh" --no-build --build-dir "$build" --out "$tmp/image" --tag test \
  --archive > "$tmp/build.log" 2>&1 || fail "deploy/image/build.sh failed"

# 2. What each image says about itself.
for image in mixtape-reco mixtape-auth; do
  layout="$tmp/image/$image"
  [ -s "$tmp/image/$image.oci.tar" ] || fail "$image: no oci-archive written"
  # The archive is one image named NAME:TAG, which podman load and skopeo accept.
  tar -xOf "$tmp/image/$image.oci.tar" ./index.json > "$tmp/$image.archive-index.json" ||
    fail "$image: the oci-archive has no index.json"
  [ "$(grep -o '"org.opencontainers.image.ref.name":"[^"]*"' "$tmp/$image.archive-index.json")" = \
    "\"org.opencontainers.image.ref.name\":\"$image:test\"" ] ||
    fail "$image: the oci-archive is not exactly one image named $image:test: $(cat "$tmp/$image.archive-index.json")"
  "$py" - "$layout" "$image" > "$tmp/$image.config" <<'EOF' || fail "$image: image configuration check failed"
import json, os, sys
layout, name = sys.argv[1], sys.argv[2]
def blob(digest):
    algo, hexd = digest.split(":")
    with open(os.path.join(layout, "blobs", algo, hexd)) as f:
        return json.load(f)
index = json.load(open(os.path.join(layout, "index.json")))
refs = {m.get("annotations", {}).get("org.opencontainers.image.ref.name"): m for m in index["manifests"]}
for tag in ("test", "latest"):
    if tag not in refs:
        sys.exit(f"{name}: tag {tag} missing from index.json")
manifest = blob(refs["latest"]["digest"])
config = blob(manifest["config"]["digest"])
c = config["config"]
problems = []
if c.get("User") != "65532:65532":
    problems.append(f"User is {c.get('User')!r}, want 65532:65532")
labels = c.get("Labels", {})
for key in ("org.opencontainers.image.title", "org.opencontainers.image.revision",
            "org.opencontainers.image.version", "org.opencontainers.image.created",
            "io.mixtape.healthcheck"):
    if not labels.get(key):
        problems.append(f"label {key} missing")
if labels.get("org.opencontainers.image.title") != name:
    problems.append("title label is not the image name")
if not c.get("Entrypoint"):
    problems.append("no entrypoint")
if config.get("os") != "linux":
    problems.append("os is not linux")
if problems:
    sys.exit(f"{name}: " + "; ".join(problems))
print("entrypoint=" + " ".join(c["Entrypoint"]))
print("health=" + labels["io.mixtape.healthcheck"])
EOF
done
reco_health=$(sed -n 's/^health=//p' "$tmp/mixtape-reco.config")
auth_health=$(sed -n 's/^health=//p' "$tmp/mixtape-auth.config")

# Unpack each image as a runtime bundle (what runc and podman start from).
for image in mixtape-reco mixtape-auth; do
  umoci unpack --image "$tmp/image/$image:test" "$tmp/$image.bundle" > /dev/null ||
    fail "$image: umoci unpack failed"
  root="$tmp/$image.bundle/rootfs"
  for sh in bin/sh bin/bash usr/bin/sh usr/bin/bash; do
    [ ! -e "$root/$sh" ] || fail "$image: a shell ($sh) is inside the image"
  done
  # Every file in the image is a program, a library ldd listed, or one the build writes.
  while IFS= read -r f; do
    case $f in
      ./etc/passwd|./etc/group|./etc/nsswitch.conf|./etc/hosts|./etc/resolv.conf) ;;
      ./etc/ssl/certs/ca-certificates.crt|./usr/share/doc/mixtape/packages.txt) ;;
      ./usr/local/bin/*|./usr/bin/curl) ;;
      *)
        grep -q "^${f#.}	" "$root/usr/share/doc/mixtape/packages.txt" ||
          fail "$image: $f is in the image but not in packages.txt"
        ;;
    esac
  done < <(cd "$root" && find . -type f)
done
grep -q '^/usr/local/bin/reco-model	' "$tmp/mixtape-reco.bundle/rootfs/usr/share/doc/mixtape/packages.txt" ||
  fail "mixtape-reco: reco-model is not inside"

# 3. The runtime: runc when it can start a container here, else namespaces + chroot.
runtime=${MIXTAPE_IMAGE_RUNTIME:-}
if [ -z "$runtime" ]; then
  runtime=chroot
  if command -v runc >/dev/null; then
    runtime=runc
  fi
fi
ip netns add "$ns" || fail "cannot create network namespace $ns"
ip -n "$ns" link set lo up

# config NAME IMAGE ARGS_JSON ENV_JSON MOUNTS_JSON: a runc bundle for one container of IMAGE
# sharing the pod's network namespace, its root filesystem read-only. MOUNTS_JSON is a list of
# [host_path, container_path, "ro"|"rw"]; ARGS_JSON null keeps the image's entrypoint.
config() {
  local name=$1 image=$2
  mkdir -p "$tmp/$name"
  "$py" - "$tmp/$image.bundle" "$tmp/$name/config.json" "/run/netns/$ns" "$3" "$4" "$5" <<'EOF'
import json, sys
bundle, out, netns, args, env, mounts = sys.argv[1:7]
c = json.load(open(bundle + "/config.json"))
c["root"] = {"path": bundle + "/rootfs", "readonly": True}
p = c["process"]
p["terminal"] = False
args = json.loads(args)
if args is not None:
    p["args"] = args
p["env"] += json.loads(env) + ["ASAN_OPTIONS=detect_leaks=0"]
for cap in p["capabilities"]:
    p["capabilities"][cap] = []
p["noNewPrivileges"] = True
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
c["linux"]["namespaces"].append({"type": "network", "path": netns})
keep = [m for m in c["mounts"] if m["destination"] not in ("/var/lib/mixtape",)]
for host, dest, mode in json.loads(mounts):
    keep.append({"destination": dest, "type": "bind", "source": host,
                 "options": ["rbind", mode, "nosuid", "nodev"]})
c["mounts"] = keep
json.dump(c, open(out, "w"), indent=1)
print(json.dumps({"args": p["args"], "env": p["env"], "uid": p["user"]["uid"]}))
EOF
}

# run NAME IMAGE ARGS_JSON ENV_JSON MOUNTS_JSON: runs a container in the background (its
# stdout in NAME.out, stderr in NAME.log); sets $last_pid.
run() {
  local name=$1
  config "$@" > /dev/null || fail "$name: cannot write its runtime configuration"
  if [ "$runtime" = runc ]; then
    containers+=("mx-$ns-$name")
    runc run -b "$tmp/$name" "mx-$ns-$name" > "$tmp/$name.out" 2> "$tmp/$name.log" &
  else
    "$py" - "$tmp/$name/config.json" "$tmp/$name.sh" <<'EOF'
import json, shlex, sys
c = json.load(open(sys.argv[1]))
root = c["root"]["path"]
lines = ["set -e", "mount --make-rprivate /",
         f"mount --bind {shlex.quote(root)} {shlex.quote(root)}",
         f"mount -o remount,bind,ro {shlex.quote(root)}",
         f"mount -t proc proc {shlex.quote(root + '/proc')}",
         f"mount -t tmpfs -o nosuid,nodev,noexec tmpfs {shlex.quote(root + '/tmp')}",
         f"mount -t tmpfs -o nosuid,noexec,mode=755 tmpfs {shlex.quote(root + '/dev')}"]
for dev in ("null", "zero", "random", "urandom"):
    target = shlex.quote(root + "/dev/" + dev)
    lines += [f"touch {target}", f"mount --bind /dev/{dev} {target}"]
for m in c["mounts"]:
    if m["type"] == "bind":
        ro = "ro" if "ro" in m["options"] else "rw"
        target = shlex.quote(root + m["destination"])
        lines.append(f"mount --bind {shlex.quote(m['source'])} {target}")
        lines.append(f"mount -o remount,bind,{ro},nosuid,nodev {target}")
u = c["process"]["user"]
lines.append("exec env -i " + " ".join(shlex.quote(e) for e in c["process"]["env"])
             + f" chroot --userspec={u['uid']}:{u['gid']} {shlex.quote(root)} "
             + " ".join(shlex.quote(a) for a in c["process"]["args"]))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
EOF
    ip netns exec "$ns" unshare --mount --pid --fork --kill-child sh "$tmp/$name.sh" \
      > "$tmp/$name.out" 2> "$tmp/$name.log" &
  fi
  last_pid=$!
  pids+=("$last_pid")
}

# in NAME CMD...: runs CMD inside container NAME (its namespaces and root, uid 65532).
in_container() {
  local name=$1; shift
  if [ "$runtime" = runc ]; then
    runc exec --user 65532:65532 "mx-$ns-$name" "$@"
  else
    local leader
    leader=$(cat "$tmp/$name.leader")
    nsenter -t "$leader" -m -n -p chroot --userspec=65532:65532 \
      "$(sed -n 's/^root=//p' "$tmp/$name.root")" "$@"
  fi
}

# wait_ready NAME PID: waits for the "ready addr=" line; in chroot mode notes the service's pid.
wait_ready() {
  local name=$1 pid=$2
  for _ in $(seq 1 150); do
    if grep -q '^ready addr=' "$tmp/$name.out"; then
      if [ "$runtime" = chroot ]; then
        # ip netns exec -> unshare -> (fork) the service: the newest descendant.
        local p=$pid next
        while next=$(pgrep -P "$p" | tail -n1) && [ -n "$next" ]; do p=$next; done
        echo "$p" > "$tmp/$name.leader"
        echo "root=$tmp/$3.bundle/rootfs" > "$tmp/$name.root"
      fi
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "$name stopped during start-up"
    sleep 0.1
  done
  fail "$name did not print its ready line in 15 s"
}

# stop NAME PID: SIGTERM, then the container must exit 0 within 15 s.
stop() {
  local name=$1 pid=$2 status
  if [ "$runtime" = runc ]; then
    runc kill "mx-$ns-$name" TERM || fail "$name: runc kill failed"
  else
    kill -TERM "$(cat "$tmp/$name.leader")"
  fi
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "$name did not stop within 15 s of SIGTERM"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "$name exited $status after SIGTERM"
  if [ "$runtime" = runc ]; then runc delete "mx-$ns-$name" 2>/dev/null || true; fi
}

# A one-shot container: runs to completion and must exit 0.
one_shot() {
  local name=$1
  run "$@"
  wait "$last_pid" || fail "$name exited $?"
  if [ "$runtime" = runc ]; then runc delete "mx-$ns-$name" 2>/dev/null || true; fi
}

mkdir -p "$tmp/models"
chown 65532:65532 "$tmp/models"
# runc is installed but may not run containers here (cgroups, seccomp): one probe decides.
if [ "$runtime" = runc ] && [ -z "${MIXTAPE_IMAGE_RUNTIME:-}" ]; then
  run probe mixtape-reco '["/usr/local/bin/reco-model","synth","--rows","10","--out","/tmp/p.csv"]' '[]' '[]'
  if ! wait "$last_pid"; then
    echo "deploy_image: runc cannot start a container here ($(tail -n1 "$tmp/probe.log")); using namespaces + chroot"
    runtime=chroot
  fi
  runc delete -f "mx-$ns-probe" 2>/dev/null || true
fi
echo "deploy_image: runtime $runtime"

# 4. The model, made by the reco image's own tool (as the Kubernetes init container does).
one_shot synth mixtape-reco \
  '["/usr/local/bin/reco-model","synth","--rows","3000","--seed","5","--out","/var/lib/mixtape/catalog.csv"]' \
  '[]' "[[\"$tmp/models\",\"/var/lib/mixtape\",\"rw\"]]"
one_shot model mixtape-reco \
  '["/usr/local/bin/reco-model","build","--k","8","--catalog","/var/lib/mixtape/catalog.csv","--out","/var/lib/mixtape/model.mxm"]' \
  '[]' "[[\"$tmp/models\",\"/var/lib/mixtape\",\"rw\"]]"
[ -s "$tmp/models/model.mxm" ] || fail "reco-model in the image wrote no model"

# 5. reco-service from the image's entrypoint and environment, the model read-only.
run reco mixtape-reco null '[]' "[[\"$tmp/models\",\"/var/lib/mixtape\",\"ro\"]]"
reco_pid=$last_pid
wait_ready reco "$reco_pid" mixtape-reco
grep -q '^ready addr=tcp://0.0.0.0:7100' "$tmp/reco.out" || fail "reco-service is not on the image's RECO_LISTEN"
# shellcheck disable=SC2086 # the label is a command line
in_container reco $reco_health > "$tmp/reco-health.txt" 2>&1 ||
  fail "the reco image's health command failed: $(cat "$tmp/reco-health.txt")"
grep -q 'serving=true' "$tmp/reco-health.txt" || fail "reco health did not say serving=true"
# A write to the root filesystem must fail (read-only), /tmp must take one.
if in_container reco /usr/local/bin/reco-model synth --rows 10 --out /usr/local/x.csv >/dev/null 2>&1; then
  fail "the reco container could write to its root filesystem"
fi
in_container reco /usr/local/bin/reco-model synth --rows 10 --out /tmp/x.csv >/dev/null 2>&1 ||
  fail "the reco container could not write to /tmp"

# 6. auth-service from its image, reaching reco-service over the pod's loopback.
keys=$(head -c 32 /dev/urandom | base64)
run auth mixtape-auth null \
  "[\"SPOTIFY_CLIENT_ID=image-test\",\"SESSION_KEYS=$keys\",\"RECO_ENDPOINTS=tcp://127.0.0.1:7100\",\"PUBLIC_URL=http://127.0.0.1:8080\"]" '[]'
auth_pid=$last_pid
wait_ready auth "$auth_pid" mixtape-auth
# shellcheck disable=SC2086
in_container auth $auth_health > "$tmp/auth-health.txt" 2>&1 ||
  fail "the auth image's health command failed: $(cat "$tmp/auth-health.txt")"
in_container auth /usr/bin/curl -fsS --max-time 5 http://127.0.0.1:8080/readyz > "$tmp/readyz.txt" 2>&1 ||
  fail "auth-service /readyz: $(cat "$tmp/readyz.txt")"
grep -q '"ready":true' "$tmp/readyz.txt" || fail "auth-service /readyz did not say ready: $(cat "$tmp/readyz.txt")"
# Both run as the image's user, not root.
if [ "$runtime" = chroot ]; then
  for name in reco auth; do
    [ "$(stat -c %u "/proc/$(cat "$tmp/$name.leader")")" = 65532 ] || fail "$name does not run as uid 65532"
  done
else
  in_container reco /usr/local/bin/reco-cli --endpoint tcp://127.0.0.1:7100 info > /dev/null ||
    fail "reco-cli info failed in the container"
  for name in reco auth; do
    state=$(runc state "mx-$ns-$name") || fail "runc state $name"
    pid=$(echo "$state" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
    [ "$(stat -c %u "/proc/$pid")" = 65532 ] || fail "$name does not run as uid 65532"
  done
fi

# 7. SIGTERM drains and exits 0.
stop auth "$auth_pid"
stop reco "$reco_pid"
echo "deploy_image: ok ($runtime; reco $(du -sk "$tmp/mixtape-reco.bundle/rootfs" | cut -f1) KiB," \
  "auth $(du -sk "$tmp/mixtape-auth.bundle/rootfs" | cut -f1) KiB unpacked)"

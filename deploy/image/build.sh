#!/usr/bin/env bash
# Builds the OCI images mixtape-reco (reco-service, reco-cli, reco-model) and mixtape-auth
# (auth-service, curl for its health command) from this repository's build output and the
# Debian shared libraries the binaries load (found with ldd): no base image, no registry.
#
#   deploy/image/build.sh [--build-dir DIR] [--out DIR] [--tag TAG] [--no-build] [--archive]
#                         [--rootfs-only]
#
#   --build-dir DIR  the CMake build to take binaries from (default build/release; configured and
#                    built as Release here unless --no-build)
#   --out DIR        where the images go (default build/image): DIR/mixtape-reco and
#                    DIR/mixtape-auth are OCI image layouts, tagged TAG and latest
#   --tag TAG        image tag (default: the short git commit, or "dev")
#   --archive        also write DIR/NAME.oci.tar (an oci-archive: `podman load -i`,
#                    `skopeo copy oci-archive:DIR/NAME.oci.tar docker-daemon:NAME:TAG`)
#   --rootfs-only    stage the root filesystems in DIR/NAME.rootfs and stop (no umoci needed);
#                    the image test uses this where umoci is missing
#
# Each root filesystem holds the binaries, exactly the shared libraries ldd lists for them,
# /etc/passwd and /etc/group with the user mixtape (65532), nsswitch.conf, the CA bundle (auth),
# empty /tmp and /var/lib/mixtape (mount points), and usr/share/doc/mixtape/packages.txt: which
# Debian package and version each copied file came from, for an operator's audit.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build/release
out=build/image
tag=""
do_build=1
archive=0
rootfs_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build=${2:?--build-dir needs a folder}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --archive) archive=1; shift ;;
    --rootfs-only) rootfs_only=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image build: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$tag" ]; then
  tag=$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
fi
case $tag in
  *[!A-Za-z0-9_.-]*|"") echo "image build: --tag '$tag' may hold only letters, digits, _ . -" >&2; exit 2 ;;
esac
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)

if [ "$do_build" -eq 1 ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target reco-service reco-cli reco-model auth-service
fi
bin="$build/bin"
for program in reco-service reco-cli reco-model auth-service; do
  [ -x "$bin/$program" ] || { echo "image build: $bin/$program is missing (build first or drop --no-build)" >&2; exit 1; }
done
[ -x /usr/bin/curl ] || { echo "image build: /usr/bin/curl is missing (apt-get install curl)" >&2; exit 1; }
if [ "$rootfs_only" -eq 0 ] && ! command -v umoci >/dev/null; then
  echo "image build: umoci is missing (apt-get install umoci, or deploy/deps.sh test)" >&2
  exit 1
fi
mkdir -p "$out"

# copy_file ROOT PATH [PACKAGE]: PATH (following symlinks) into ROOT at the same path, and its
# Debian package (asked from dpkg unless given) into ROOT's packages list.
copy_file() {
  local root=$1 path=$2 pkg=${3:-} real
  real=$(readlink -f "$path")
  install -D -m "$(stat -c %a "$real")" "$real" "$root$path"
  # dpkg knows a library by the path it shipped it under: /lib or /usr/lib (merged /usr).
  if [ -z "$pkg" ]; then
    pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null || true)
    pkg=${pkg%%:*}
  fi
  if [ -n "$pkg" ]; then
    printf '%s\t%s\t%s\n' "$path" "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null | head -n1)" \
      >> "$root/usr/share/doc/mixtape/packages.txt"
  else
    printf '%s\t%s\t%s\n' "$path" "mixtape" "$revision" >> "$root/usr/share/doc/mixtape/packages.txt"
  fi
}

# copy_program ROOT SOURCE DEST: the program and every shared library ldd lists for it.
copy_program() {
  local root=$1 source=$2 dest=$3 lib
  install -D -m 0755 "$source" "$root$dest"
  printf '%s\t%s\t%s\n' "$dest" mixtape "$revision" >> "$root/usr/share/doc/mixtape/packages.txt"
  if ldd "$source" | grep -q 'not found'; then
    echo "image build: $source needs a library this machine lacks:" >&2
    ldd "$source" | grep 'not found' >&2
    exit 1
  fi
  # "name => /path (addr)" and the loader's "/path (addr)"; vdso has no file.
  for lib in $(ldd "$source" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$root$lib" ] || copy_file "$root" "$lib"
  done
}

# stage NAME: a fresh root filesystem in $out/NAME.rootfs.
stage() {
  local name=$1 root="$out/$1.rootfs"
  rm -rf "$root"
  mkdir -p "$root"/{etc,tmp,proc,dev,sys,var/lib/mixtape,usr/local/bin,usr/share/doc/mixtape}
  chmod 1777 "$root/tmp"
  : > "$root/usr/share/doc/mixtape/packages.txt"
  cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/nonexistent:/usr/sbin/nologin
mixtape:x:65532:65532:mixtape:/nonexistent:/usr/sbin/nologin
EOF
  cat > "$root/etc/group" <<'EOF'
root:x:0:
mixtape:x:65532:
EOF
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$root/etc/hosts"
  : > "$root/etc/resolv.conf"
  case $name in
    mixtape-reco)
      copy_program "$root" "$bin/reco-service" /usr/local/bin/reco-service
      copy_program "$root" "$bin/reco-cli" /usr/local/bin/reco-cli
      copy_program "$root" "$bin/reco-model" /usr/local/bin/reco-model
      ;;
    mixtape-auth)
      copy_program "$root" "$bin/auth-service" /usr/local/bin/auth-service
      copy_program "$root" /usr/bin/curl /usr/bin/curl
      [ -r /etc/ssl/certs/ca-certificates.crt ] ||
        { echo "image build: /etc/ssl/certs/ca-certificates.crt is missing (apt-get install ca-certificates)" >&2; exit 1; }
      copy_file "$root" /etc/ssl/certs/ca-certificates.crt ca-certificates
      ;;
  esac
  sort -u -o "$root/usr/share/doc/mixtape/packages.txt" "$root/usr/share/doc/mixtape/packages.txt"
  find "$root" -exec touch -h -d "@$epoch" {} +
}

# pack NAME ENTRYPOINT ENV HEALTH PORTS TITLE DESCRIPTION: the OCI layout $out/NAME.
pack() {
  local name=$1 entrypoint=$2 env=$3 health=$4 ports=$5 title=$6 description=$7
  local layout="$out/$name" bundle="$out/$name.bundle" e p
  rm -rf "$layout" "$bundle"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  cp -a "$out/$name.rootfs/." "$bundle/rootfs/"
  umoci repack --image "$layout:$tag" --history.created_by "deploy/image/build.sh" \
    --history.created "$created" "$bundle"
  local args=(--image "$layout:$tag" --no-history --created "$created" --author "mixtape"
              --config.user 65532:65532 --config.workingdir / --config.stopsignal SIGTERM
              --config.volume /var/lib/mixtape --config.volume /tmp
              --config.entrypoint "$entrypoint"
              --config.label "org.opencontainers.image.title=$title"
              --config.label "org.opencontainers.image.description=$description"
              --config.label "org.opencontainers.image.source=https://example.invalid/mixtape"
              --config.label "org.opencontainers.image.revision=$revision"
              --config.label "org.opencontainers.image.version=$tag"
              --config.label "org.opencontainers.image.created=$created"
              --config.label "org.opencontainers.image.licenses=see usr/share/doc/mixtape/packages.txt"
              --config.label "org.opencontainers.image.vendor=mixtape"
              --config.label "io.mixtape.healthcheck=$health")
  for e in $env; do args+=(--config.env "$e"); done
  for p in $ports; do args+=(--config.exposedports "$p"); done
  umoci config "${args[@]}"
  umoci tag --image "$layout:$tag" latest
  umoci gc --layout "$layout"
  rm -rf "$bundle"
  if [ "$archive" -eq 1 ]; then
    # An oci-archive holds one image, named NAME:TAG (podman load and skopeo take the name
    # from the ref.name annotation and refuse an index of several).
    local one="$out/$name.archive"
    rm -rf "$one"
    cp -a "$layout" "$one"
    umoci rm --image "$one:latest"
    sed -i "s|\"org.opencontainers.image.ref.name\":\"$tag\"|\"org.opencontainers.image.ref.name\":\"$name:$tag\"|" \
      "$one/index.json"
    grep -q "\"org.opencontainers.image.ref.name\":\"$name:$tag\"" "$one/index.json" ||
      { echo "image build: could not name the image in $one/index.json" >&2; exit 1; }
    tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
      -C "$one" -cf "$out/$name.oci.tar" .
    rm -rf "$one"
  fi
  echo "image build: $layout:$tag ($(du -sk "$out/$name.rootfs" | cut -f1) KiB unpacked)"
}

stage mixtape-reco
stage mixtape-auth
if [ "$rootfs_only" -eq 1 ]; then
  echo "image build: root filesystems in $out/mixtape-reco.rootfs and $out/mixtape-auth.rootfs"
  exit 0
fi
pack mixtape-reco /usr/local/bin/reco-service \
  "RECO_LISTEN=tcp://0.0.0.0:7100 RECO_MODEL=/var/lib/mixtape/model.mxm" \
  "/usr/local/bin/reco-cli --endpoint tcp://127.0.0.1:7100 --timeout-ms 2000 health" \
  "7100/tcp 7180/tcp" "mixtape-reco" \
  "mixtape reco-service (compute; reco-cli and reco-model inside)"
pack mixtape-auth /usr/local/bin/auth-service \
  "LISTEN=0.0.0.0:8080 RECO_ENDPOINTS=tcp://reco:7100" \
  "/usr/bin/curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8080/healthz" \
  "8080/tcp" "mixtape-auth" "mixtape auth-service (web front)"

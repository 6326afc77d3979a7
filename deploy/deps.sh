#!/usr/bin/env bash
# Installs the Debian packages mixtape needs, and only those missing, so a second run is quick.
#   deploy/deps.sh          build and run (libraries, compiler, cmake)
#   deploy/deps.sh test     + what the tests need (cmocka, clang-format, clang-tidy, chromium, chromedriver;
#                             clang and its libFuzzer runtime for the coverage-guided fuzz runs;
#                             npm and the pinned axe-core of tests/e2e/axe (npm ci, offline once
#                             it is there);
#                             for tests/deploy and tests/cluster: umoci, runc, dnsmasq, curl,
#                             libyaml-dev, docker-compose, systemd-analyze, and Debian's kubectl
#                             unless a kubectl is installed already)
#   deploy/deps.sh bench    + what the benchmarks and the quality evaluation need (python3-*)
set -euo pipefail

packages=(build-essential cmake pkg-config git ca-certificates
          libnng-dev libprotobuf-c-dev protobuf-c-compiler libcjson-dev
          libcurl4-openssl-dev libssl-dev libcivetweb-dev zlib1g-dev libcmocka-dev)
case "${1:-}" in
  test)  packages+=(clang-format clang-tidy chromium chromium-driver fonts-dejavu-core clang libclang-rt-14-dev
                   umoci runc dnsmasq-base curl iproute2 procps libyaml-dev docker-compose systemd)
         command -v kubectl >/dev/null || packages+=(kubernetes-client)
         command -v npm >/dev/null || packages+=(npm) ;;
  bench) packages+=(clang-format chromium chromium-driver fonts-dejavu-core clang libclang-rt-14-dev
                    python3-numpy python3-pandas python3-scipy python3-sklearn
                    python3-matplotlib hyperfine valgrind
                    libopenblas0-pthread python3-threadpoolctl python3-faiss) ;;
  "") ;;
  *) echo "deps.sh: unknown set '$1' (use test or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser test's accessibility checker: axe-core at the version package-lock.json pins
# (test tooling only; nothing of it ships).
if [ "${1:-}" = test ]; then
  axe_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/axe"
  if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
    echo "deps: npm ci in tests/e2e/axe (axe-core)"
    (cd "$axe_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
fi

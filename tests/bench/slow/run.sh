#!/usr/bin/env bash
# Issue 12's slow-connections bar for the front: a normal user's p99 under 1 s while 1,000
# slow clients hold connections to auth-service. Builds without sanitizers in build/slow-bench,
# then runs slow-bench twice side by side: auth-service as configured by default, and with the
# connection settings it had before (16 CivetWeb workers, 60 s to receive a request; 32 is the
# floor of CONNECTIONS now, so the baseline gets 32).
# usage: tests/bench/slow/run.sh [--slow 1000] [--seconds 60] [more slow-bench options]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${MIXTAPE_BENCH_BUILD:-$root/build/slow-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXTAPE_SANITIZE=OFF \
  -DMIXTAPE_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target slow-bench auth-service spotify-emu reco-service reco-model \
  >/dev/null
echo "commit $(git -C "$root" rev-parse --short HEAD) $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores"
export MIXTAPE_BUILD_DIR="$build"
args=(--slow 1000 --seconds 60 "$@")
"$build/bin/slow-bench" "${args[@]}" 2>/dev/null
"$build/bin/slow-bench" "${args[@]}" --env CONNECTIONS=32 --env REQUEST_TIMEOUT_MS=60000 \
  2>/dev/null

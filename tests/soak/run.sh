#!/usr/bin/env bash
# The soak test (issue 12; not in CI): auth-service and two reco-service instances under mixed
# load with Spotify faults, instance crashes and model reloads for 30 minutes (or --minutes M),
# RSS and open descriptors sampled every 10 s, every /api/mix answer compared with the first
# one for the same user and request. Builds without sanitizers in build/soak.
# usage: tests/soak/run.sh [--minutes 30]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${MIXTAPE_BENCH_BUILD:-$root/build/soak}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXTAPE_SANITIZE=OFF \
  -DMIXTAPE_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target mixtape-soak auth-service spotify-emu reco-service reco-model \
  >/dev/null
echo "commit $(git -C "$root" rev-parse --short HEAD) $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores"
MIXTAPE_BUILD_DIR="$build" "$build/bin/mixtape-soak" "$@" 2>"$build/soak-services.log"

#!/usr/bin/env bash
# model_open of a 170k-row model (issue 3's bar: under 100 ms), now that it reads a private
# copy (issue 12 item 6), side by side with the shared-mapping floor it replaced. Builds
# without sanitizers in build/model-open-bench, synthesises a 170,000-row catalog and builds
# its model once (in that build directory), then runs model-open-bench.
# usage: tests/bench/model_open/run.sh [--rounds 15]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${MIXTAPE_BENCH_BUILD:-$root/build/model-open-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXTAPE_SANITIZE=OFF \
  -DMIXTAPE_WERROR=OFF >/dev/null
cmake --build "$build" -j2 --target model-open-bench reco-model >/dev/null
model="$build/170k.model"
if [ ! -f "$model" ]; then
  "$build/bin/reco-model" synth --rows 170000 --out "$build/170k.csv.gz" --seed 1 2>/dev/null
  "$build/bin/reco-model" build --catalog "$build/170k.csv.gz" --out "$model" --restarts 2 \
    2>/dev/null
fi
echo "commit $(git -C "$root" rev-parse --short HEAD) $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bin/model-open-bench" "$model" "$@"

#!/usr/bin/env bash
# Issue 17's speed bar: Recommend p50 at 1,000 saved through the RPC (reco-bench latency, the
# service's default ranking), this build beside the build before issue 17 (commit PREV, default
# 9b21d79) in the same run: the previous build on its own 114k model (it cannot read the new
# format), this build on the same catalog and on the merged reference model of issue17.sh.
# Prints `speed17` lines (each latency result, then the service's own CPU time per request,
# user and system, from /proc: on a loaded machine the CPU a request costs, where p50 also
# counts waiting for a core); BENCHMARKS.md quotes them. Real data only; never run by ctest.
#   tests/quality/speed17.sh           # ~5 min on 2 cores (both builds, models, 4 x 10 s)
# Environment: BUILD (build/speed17), DATA (../shared/data), PREV (empty: not measured),
# SECONDS_EACH (10), UNION (the merged model, default build/quality/issue17/union-ag.model),
# BASE (a commit that reads the new format, e.g. the branch point of a speed change: measured
# on the merged model before and after this build, as base-union and base-union-again).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build/speed17}
data=${DATA:-$src/../shared/data}
prev=${PREV-9b21d79}
base=${BASE:-}
seconds=${SECONDS_EACH:-10}
union=${UNION:-$src/build/quality/issue17/union-ag.model}
k114=$data/spotify_tracks_114k.csv.gz
[ -f "$k114" ] || { echo "speed17.sh: $k114 not found (set DATA)"; exit 1; }
sides=cur
for side in prev base; do
  commit=$prev
  [ "$side" = base ] && commit=$base
  [ -n "$commit" ] || continue
  rm -rf "$build/$side-src" && mkdir -p "$build/$side-src"
  git -C "$src" archive "$commit" | tar -x -C "$build/$side-src"
  sides="$sides $side"
done
for side in $sides; do
  s=$src
  [ "$side" != cur ] && s=$build/$side-src
  cmake -S "$s" -B "$build/$side" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build/$side" -j2 --target reco-model reco-service reco-bench >/dev/null
done
for side in $sides; do
  [ "$side" = base ] && continue
  [ -f "$build/$side-114k.model" ] ||
    "$build/$side/bin/reco-model" build --catalog "$k114" --out "$build/$side-114k.model" \
      --seed 1 >/dev/null 2>&1
done

service_pid=""
stop() { [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null; service_pid=""; }
trap stop EXIT
measure() { # label bin-dir model
  local label=$1 bin=$2/bin model=$3 out=$build/service.out
  "$bin/reco-bench" sample --model "$model" --count 1000 --seed 4 >"$build/saved_$label.tsv"
  : >"$out"
  "$bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0 >"$out" 2>"$build/service_$label.log" &
  service_pid=$!
  for _ in $(seq 1 600); do grep -q '^ready addr=' "$out" && break; sleep 0.1; done
  local addr result ticks_before ticks_after hz line
  addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$out" | head -1)
  ticks_before=$(cut -d' ' -f14,15 "/proc/$service_pid/stat")
  result=$("$bin/reco-bench" latency --endpoint "$addr" --ranking 0 --saved "$build/saved_$label.tsv" \
    --label "$label" --timeout-ms 60000 --seconds "$seconds" --min-requests 10 --warmup 3)
  ticks_after=$(cut -d' ' -f14,15 "/proc/$service_pid/stat")
  hz=$(getconf CLK_TCK)
  while IFS= read -r line; do echo "speed17 $line"; done <<<"$result"
  # shellcheck disable=SC2086
  set -- $ticks_before $ticks_after
  sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$result" | head -1 |
    awk -v label="$label" -v u=$(($3 - $1)) -v s=$(($4 - $2)) -v hz="$hz" '$1 > 0 {
      printf "speed17 cpu label=%s user_ms_per_request=%.3f system_ms_per_request=%.3f\n",
        label, u * 1000 / hz / ($1 + 3), s * 1000 / hz / ($1 + 3) }'
  stop
}
echo "speed17 load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
[ -n "$prev" ] && measure prev-114k "$build/prev" "$build/prev-114k.model"
[ -n "$base" ] && [ -f "$union" ] && measure base-union "$build/base" "$union"
measure cur-114k "$build/cur" "$build/cur-114k.model"
[ -f "$union" ] && measure cur-union "$build/cur" "$union"
[ -n "$base" ] && [ -f "$union" ] && measure base-union-again "$build/base" "$union"
[ -n "$prev" ] && measure prev-114k-again "$build/prev" "$build/prev-114k.model"
echo "speed17 load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"

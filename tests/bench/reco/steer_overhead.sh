#!/usr/bin/env bash
# What issue 17's plumbing costs a Recommend through the RPC: this tree's reco-service (the
# reply with named styles, reasons, match figures by decade) beside a baseline git ref's, same
# model file, same saved list, alternating rounds in one run, p50 of reco-bench latency. The
# model format must be one both builds open.
#   tests/bench/reco/steer_overhead.sh [--baseline REF] [--catalog FILE] [--saved N] [--rounds R]
# Defaults: REF algo17 (the recommendation without the plumbing), the 114k catalog from
# ../shared/data, 1,000 saved, 3 rounds. Release builds (no sanitizers) land in
# build/steer-overhead/; prints one line per round and build, then the medians.
set -euo pipefail
cd "$(dirname "$0")/../../.."
baseline=algo17
catalog=${MIXTAPE_DATA_DIR:-../shared/data}/spotify_tracks_114k.csv.gz
saved=1000
rounds=3
while [ $# -gt 0 ]; do
    case $1 in
    --baseline) baseline=$2; shift 2 ;;
    --catalog) catalog=$2; shift 2 ;;
    --saved) saved=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "steer_overhead.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
work=build/steer-overhead
mkdir -p "$work"
here=$work/here base=$work/base
log() { echo "steer_overhead: $*" >&2; }

log "building this tree ($(git rev-parse --short HEAD)) and $baseline ($(git rev-parse --short "$baseline")), Release"
cmake -S . -B "$here" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$here" -j"$(nproc)" --target reco-model reco-service reco-bench >/dev/null
rm -rf "$work/base-src"
mkdir -p "$work/base-src"
git archive "$baseline" | tar -x -C "$work/base-src"
cmake -S "$work/base-src" -B "$base" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$base" -j"$(nproc)" --target reco-service >/dev/null

model=$work/model.mxm
if [ ! -s "$model" ]; then
    log "building the model from $catalog"
    "$here/bin/reco-model" build --catalog "$catalog" --out "$model" --k 20 --restarts 2 \
        --log-level warn >/dev/null
fi
"$here/bin/reco-bench" sample --model "$model" --count "$saved" --seed 4 >"$work/saved.tsv"

# run_one BUILD LABEL: a service on the model, a latency run, its result line.
run_one() {
    local bin=$1/bin label=$2
    "$bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0 --workers 2 \
        --log-level warn >"$work/ready.$label" 2>"$work/service.$label.log" &
    local pid=$!
    for _ in $(seq 100); do grep -q '^ready' "$work/ready.$label" && break; sleep 0.1; done
    local addr
    addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$work/ready.$label")
    "$here/bin/reco-bench" latency --endpoint "$addr" --saved "$work/saved.tsv" --seconds 4 \
        --warmup 20 --label "$label" | tee -a "$work/results.txt"
    kill "$pid"
    wait "$pid" || true
}

: >"$work/results.txt"
for r in $(seq "$rounds"); do
    log "round $r of $rounds"
    run_one "$base" "baseline"
    run_one "$here" "this-tree"
done
log "p50 by build (median of the rounds), from $work/results.txt:"
for label in baseline this-tree; do
    grep "catalog=$label " "$work/results.txt" | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' |
        sort -n | awk -v l="$label" '{v[NR]=$1} END {print l, "p50_ms", v[int((NR+1)/2)]}'
done

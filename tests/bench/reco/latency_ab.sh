#!/usr/bin/env bash
# Recommend latency of two builds side by side: A, B, A, B, ... (ROUNDS pairs) on one model and
# saved list, each a fresh reco-service measured by reco-bench latency (default ranking), so the
# machine's load falls on both alike. Prints one `latency_ab` line per run; compare the p50s of
# A with B's as a ratio, and with A's own spread as the noise.
#   latency_ab.sh BUILD_A BUILD_B MODEL SAVED_TSV [ROUNDS (2)] [SECONDS (10)]
# SAVED_TSV is written by `reco-bench sample --model MODEL --count 1000`.
set -euo pipefail
a=$1 b=$2 model=$3 saved=$4 rounds=${5:-2} seconds=${6:-10}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/latency-ab.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
echo "latency_ab load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
for _ in $(seq 1 "$rounds"); do
    for build in "$a" "$b"; do
        : >"$tmp/out"
        "$build/bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0 >"$tmp/out" \
            2>"$tmp/log" &
        pid=$!
        addr=""
        for _ in $(seq 1 600); do
            addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$tmp/out" 2>/dev/null | head -1 || true)
            [ -n "$addr" ] && break
            sleep 0.1
        done
        [ -n "$addr" ] || { cat "$tmp/log" >&2; echo "latency_ab.sh: no service" >&2; exit 1; }
        "$build/bin/reco-bench" latency --endpoint "$addr" --ranking 0 --saved "$saved" \
            --label "$(basename "$build")" --timeout-ms 60000 --seconds "$seconds" \
            --min-requests 10 --warmup 3 | sed 's/^/latency_ab /'
        kill -TERM "$pid"
        wait "$pid" || true
        pid=""
    done
done
echo "latency_ab load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"

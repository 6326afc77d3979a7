#!/usr/bin/env bash
# Recommend latency of two builds side by side: A, B, A, B, ... (ROUNDS pairs) on one model and
# saved list, each a fresh reco-service measured by reco-bench latency (default ranking), so the
# machine's load falls on both alike. Prints one `latency_ab` line per run; compare the p50s of
# A with B's as a ratio, and with A's own spread as the noise.
#   latency_ab.sh BUILD_A BUILD_B MODEL SAVED_TSV [ROUNDS (2)] [SECONDS (10)]
# SAVED_TSV is written by `reco-bench sample --model MODEL --count 1000`.
set -euo pipefail
a=$1 b=$2 model=$3 saved=$4 rounds=${5:-2} seconds=${6:-10}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/latency-ab.XXXXXX")
# shellcheck source=service.sh
. "$here/service.sh"
trap 'stop_service; rm -rf "$work"' EXIT
echo "latency_ab load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
for _ in $(seq 1 "$rounds"); do
    for build in "$a" "$b"; do
        : >"$work/service.log"
        start_service "$model" "$build/bin/reco-service" || exit 1
        "$build/bin/reco-bench" latency --endpoint "$service_addr" --ranking 0 --saved "$saved" \
            --label "$(basename "$build")" --timeout-ms 60000 --seconds "$seconds" \
            --min-requests 10 --warmup 3 | sed 's/^/latency_ab /'
        stop_service
    done
done
echo "latency_ab load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"

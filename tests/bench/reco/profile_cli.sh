#!/usr/bin/env bash
# Instructions per Recommend with any reco-cli options (steering, rankings, n): runs reco-service
# under callgrind, collecting only inside `recommend_indexed` (the library), sends the same
# reco-cli call REQUESTS times and prints one `profile_cli` line with the inclusive instructions
# per call.
# Exact under load, so two builds compare by their counts (tests/bench/reco/profile.sh gives the
# per-function breakdown for reco-bench's default request).
#   profile_cli.sh BIN_DIR MODEL SAVED_FILE REQUESTS LABEL [RECO-CLI RECOMMEND OPTIONS...]
# e.g. profile_cli.sh build/release/bin m.model saved.csv 3 steer --discover 0.5 --years 1990-
set -euo pipefail
bin=$1 model=$2 saved=$3 requests=$4 label=$5
shift 5
command -v valgrind >/dev/null || { echo "profile_cli.sh: valgrind not installed, skipped" >&2; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/reco-profile-cli.XXXXXX")
# shellcheck source=service.sh
. "$here/service.sh"
trap 'stop_service; rm -rf "$work"' EXIT
service_ready_seconds=600
start_service "$model" valgrind --tool=callgrind --toggle-collect=recommend_indexed \
    --callgrind-out-file="$work/cg.out" "$bin/reco-service" --workers 1 || exit 1
for _ in $(seq 1 "$requests"); do
    "$bin/reco-cli" --endpoint "$service_addr" --timeout-ms 120000 recommend "$saved" "$@" \
        --json >"$work/answer.json"
done
stop_service
# Only `recommend_indexed` (which `recommend` calls too) and what it calls were collected: the
# program's total is theirs.
total=$(callgrind_annotate "$work/cg.out" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
[ -n "$total" ] || { echo "profile_cli.sh: callgrind collected nothing" >&2; exit 1; }
echo "profile_cli label=$label requests=$requests options=\"$*\" ir_per_request=$((total / requests))"

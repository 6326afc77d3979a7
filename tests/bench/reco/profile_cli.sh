#!/usr/bin/env bash
# Instructions per Recommend with any reco-cli options (steering, rankings, n): runs reco-service
# under callgrind, collecting only inside `recommend` (the library), sends the same reco-cli
# call REQUESTS times and prints one `profile_cli` line with the inclusive instructions per call.
# Exact under load, so two builds compare by their counts (tests/bench/reco/profile.sh gives the
# per-function breakdown for reco-bench's default request).
#   profile_cli.sh BIN_DIR MODEL SAVED_FILE REQUESTS LABEL [RECO-CLI RECOMMEND OPTIONS...]
# e.g. profile_cli.sh build/release/bin m.model saved.csv 3 steer --discover 0.5 --years 1990-
set -euo pipefail
bin=$1 model=$2 saved=$3 requests=$4 label=$5
shift 5
command -v valgrind >/dev/null || { echo "profile_cli.sh: valgrind not installed, skipped" >&2; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/reco-profile-cli.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
valgrind --tool=callgrind --toggle-collect=recommend --callgrind-out-file="$tmp/cg.out" \
    "$bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0 --workers 1 \
    >"$tmp/out" 2>"$tmp/log" &
pid=$!
addr=""
for _ in $(seq 1 6000); do
    addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$tmp/out" 2>/dev/null | head -1 || true)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$tmp/log" >&2; echo "profile_cli.sh: reco-service did not start" >&2; exit 1; }
for _ in $(seq 1 "$requests"); do
    "$bin/reco-cli" --endpoint "$addr" --timeout-ms 120000 recommend "$saved" "$@" --json \
        >"$tmp/answer.json"
done
kill -TERM "$pid"
wait "$pid" || true
pid=""
# Only `recommend` and what it calls were collected: the program's total is theirs.
total=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
[ -n "$total" ] || { echo "profile_cli.sh: callgrind collected nothing" >&2; exit 1; }
echo "profile_cli label=$label requests=$requests options=\"$*\" ir_per_request=$((total / requests))"

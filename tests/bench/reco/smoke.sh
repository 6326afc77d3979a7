#!/usr/bin/env bash
# ctest's short run of the benchmark's load generator (reco_bench_smoke), so run.sh keeps
# working: a small synthetic model, a deterministic saved list, a real reco-service, one
# latency, one floor (Health) and one throughput run whose result lines must show OK replies
# (with full playlists),
# and the scoring kernels, which must agree with the scalar pass.
#   smoke.sh BUILD_DIR
set -euo pipefail
bin=$1/bin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/reco-bench-smoke.XXXXXX")
service_pid=""
cleanup() {
    if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
        kill -TERM "$service_pid"
        wait "$service_pid" || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "reco_bench_smoke: $*" >&2
    exit 1
}

"$bin/reco-model" synth --rows 3000 --out "$tmp/catalog.csv" --seed 7 >/dev/null
# --genre-dims 0: audio features only (15 dims): `reco-bench kernels` reads 16 floats per row
# there, and 32 for the default model's genre embedding (checked on a second model below).
"$bin/reco-model" build --catalog "$tmp/catalog.csv" --out "$tmp/model.mxm" --k 8 --genre-dims 0 \
    >/dev/null

"$bin/reco-bench" sample --model "$tmp/model.mxm" --count 200 --seed 4 >"$tmp/saved.tsv"
"$bin/reco-bench" sample --model "$tmp/model.mxm" --count 200 --seed 4 >"$tmp/again.tsv"
"$bin/reco-bench" sample --model "$tmp/model.mxm" --count 200 --seed 5 >"$tmp/other.tsv"
[ "$(wc -l <"$tmp/saved.tsv")" -eq 200 ] || fail "sample did not print 200 tracks"
[ "$(cut -f1 "$tmp/saved.tsv" | sort -u | wc -l)" -eq 200 ] || fail "sample repeated a track"
cmp -s "$tmp/saved.tsv" "$tmp/again.tsv" || fail "the same seed drew a different list"
! cmp -s "$tmp/saved.tsv" "$tmp/other.tsv" || fail "another seed drew the same list"
if "$bin/reco-bench" sample --model "$tmp/model.mxm" --count 20000 >/dev/null 2>&1; then
    fail "sample accepted more tracks than the model has"
fi

"$bin/reco-service" --model "$tmp/model.mxm" --listen tcp://127.0.0.1:0 >"$tmp/service.out" \
    2>"$tmp/service.log" &
service_pid=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$tmp/service.out" | head -1)
    [ -n "$addr" ] && break
    kill -0 "$service_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$tmp/service.log" >&2; fail "reco-service did not become ready"; }

latency=$("$bin/reco-bench" latency --endpoint "$addr" --saved "$tmp/saved.tsv" --label smoke \
    --seconds 0.5 --min-requests 5 --warmup 2)
echo "$latency"
echo "$latency" | grep -Eq '^result impl=reco_service catalog=smoke saved=200 .*errors=0 .*picks=50 by_id=200 ' ||
    fail "latency: expected 200 saved tracks resolved by id, 50 picks and no errors"

floor=$("$bin/reco-bench" floor --endpoint "$addr" --label smoke --seconds 0.3 --min-requests 5 \
    --warmup 2)
echo "$floor"
echo "$floor" | grep -Eq '^result impl=rpc_floor catalog=smoke method=Health .*errors=0$' ||
    fail "floor: expected Health round trips without errors"

throughput=$("$bin/reco-bench" throughput --endpoint "$addr" --saved "$tmp/saved.tsv" \
    --label smoke --threads 2 --seconds 0.5 --warmup 2)
echo "$throughput"
echo "$throughput" | grep -Eq '^result impl=reco_service_throughput .*threads=2 .*errors=0$' ||
    fail "throughput: expected a result line without errors"
"$bin/reco-model" build --catalog "$tmp/catalog.csv" --out "$tmp/genres.mxm" --k 8 >/dev/null
for model in model genres; do
    kernels=$("$bin/reco-bench" kernels --model "$tmp/$model.mxm" --label smoke)
    echo "$kernels"
    [ "$(echo "$kernels" | grep -c '^kernel catalog=smoke name=')" -eq 4 ] ||
        fail "kernels ($model): expected four passes that agree with the scalar one"
done
echo "$kernels" | grep -Eq ' dims=(1[7-9]|2[0-9]|3[0-2]) ' ||
    fail "kernels: the default model should have more than 16 dims"
echo "reco_bench_smoke: ok"

#!/usr/bin/env bash
# What each candidate default ranking costs, side by side in one run: Recommend latency through
# the RPC (bin/reco-bench latency) and inside the service (its per-request us= log), and
# throughput with concurrent clients, for the mean-cosine, votes-and-artists and mean-and-artists
# rankings on the given models. One reco-service per ranking and model, all started before any
# timing, then every measurement interleaved (size by size, ranking by ranking), so drift on a
# shared machine hits every ranking alike. Never run by ctest.
#   tests/quality/speed.sh LABEL=MODEL [LABEL=MODEL...]
# Environment: BIN (Release binaries, default build/rank-rel/bin), OUT (scratch directory),
# SIZES (saved tracks, default "100 1000 10000"), THREADS (default "2 4 8"), TPUT_SAVED (200),
# SECONDS_LAT (3), SECONDS_TPUT (5), RANKINGS ("1:mean 5:votes-artists 6:mean-artists", the
# proto/reco.proto Ranking numbers). Prints a markdown table on stdout; raw lines go to OUT.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-$src/build/rank-rel/bin}
out=${OUT:-$src/build/rank-rel/speed}
sizes=${SIZES:-100 1000 10000}
threads=${THREADS:-2 4 8}
tput_saved=${TPUT_SAVED:-200}
lat_seconds=${SECONDS_LAT:-3}
tput_seconds=${SECONDS_TPUT:-5}
rankings=${RANKINGS:-1:mean 5:votes-artists 6:mean-artists}
[ $# -gt 0 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
mkdir -p "$out"
raw=$out/results.txt
: >"$raw"

pids=()
stop_all() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT

declare -A addr
for spec in "$@"; do
    label=${spec%%=*} model=${spec#*=}
    for n in $sizes $tput_saved; do
        # A few catalog titles are longer than the service's 512-byte limit: drawn, then dropped.
        "$bin/reco-bench" sample --model "$model" --count $((n + 20)) --seed 4 |
            LC_ALL=C awk -F'\t' -v n="$n" 'length($2) <= 512 && kept++ < n' >"$out/saved_${label}_$n.tsv"
    done
    for r in $rankings; do
        name=${r#*:}
        "$bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0 \
            >"$out/service_${label}_$name.out" 2>"$out/service_${label}_$name.log" &
        pids+=($!)
        for _ in $(seq 1 600); do
            grep -q '^ready addr=' "$out/service_${label}_$name.out" && break
            sleep 0.1
        done
        addr[$label/$name]=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' \
            "$out/service_${label}_$name.out" | head -1)
        [ -n "${addr[$label/$name]}" ] || { echo "speed.sh: service $label/$name not ready" >&2; exit 1; }
    done
done
echo "speed.sh: load before $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for spec in "$@"; do
    label=${spec%%=*}
    for n in $sizes; do
        for r in $rankings; do
            number=${r%%:*} name=${r#*:}
            "$bin/reco-bench" latency --endpoint "${addr[$label/$name]}" --ranking "$number" \
                --saved "$out/saved_${label}_$n.tsv" --label "$label/$name" \
                --seconds "$lat_seconds" --min-requests 20 >>"$raw"
        done
    done
    for t in $threads; do
        for r in $rankings; do
            number=${r%%:*} name=${r#*:}
            "$bin/reco-bench" throughput --endpoint "${addr[$label/$name]}" --ranking "$number" \
                --saved "$out/saved_${label}_$tput_saved.tsv" --label "$label/$name" \
                --threads "$t" --seconds "$tput_seconds" >>"$raw"
        done
    done
done
echo "speed.sh: load after $(cut -d' ' -f1-3 /proc/loadavg)" >&2
stop_all
pids=()
# The service's own median time per request (decode, recommend, encode), by saved count.
for spec in "$@"; do
    label=${spec%%=*}
    for r in $rankings; do
        name=${r#*:}
        awk -v c="$label/$name" '/event=request/ && /method=Recommend/ && /status=OK/ {
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^us=/) us = substr($i, 4)
                if ($i ~ /^saved=/) s = substr($i, 7)
            }
            print "server catalog=" c " saved=" s " us=" us
        }' "$out/service_${label}_$name.log" >>"$raw"
    done
done

/usr/bin/python3 - "$raw" <<'EOF'
import re, statistics, sys
lat, tput, server = {}, {}, {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if line.startswith("result impl=reco_service_throughput"):
        tput[(kv["catalog"], int(kv["threads"]))] = kv
    elif line.startswith("result impl=reco_service "):
        lat[(kv["catalog"], int(kv["saved"]))] = kv
    elif line.startswith("server "):
        server.setdefault((kv["catalog"], int(kv["saved"])), []).append(int(kv["us"]))
print("| model / ranking | saved | RPC p50 ms | RPC p99 ms | in the service p50 ms | requests |")
print("|---|---:|---:|---:|---:|---:|")
for (c, s), kv in lat.items():
    inside = statistics.median(server.get((c, s), [0])) / 1000
    print(f"| {c} | {s:,} | {float(kv['p50_ms']):.3f} | {float(kv['p99_ms']):.3f} | "
          f"{inside:.3f} | {kv['requests']} |")
print()
print("| model / ranking | saved | client threads | requests/s | p50 ms | p99 ms | errors |")
print("|---|---:|---:|---:|---:|---:|---:|")
for (c, t), kv in tput.items():
    print(f"| {c} | {kv['saved']} | {t} | {float(kv['rps']):,.0f} | {float(kv['p50_ms']):.3f} | "
          f"{float(kv['p99_ms']):.3f} | {kv['errors']} |")
EOF

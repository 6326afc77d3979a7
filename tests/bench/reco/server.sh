#!/usr/bin/env bash
# The reco-service server benchmark (issues 12 and 14), one command:
#   tests/bench/reco/server.sh [--quick] [--build-dir DIR] [--rounds R]
# Builds a Release tree, a synthetic 200k-row catalog and its model, then
#  1. workers: Recommend throughput (reco-bench throughput, 4 client threads, 1,000 saved
#     tracks) against reco-service pinned to two cores (taskset -c 0,1) with --workers 1 and
#     --workers 2, alternated R times in one run, each round after `reco-bench cores` (the CPU
#     two busy threads get on those cores right now); prints each run and the ratio of medians;
#  2. hostile: a normal user's Recommend latency (200 saved, n=50) alone, then while 100 raw
#     connections each pipeline 200 Recommend requests for 500 picks and never read
#     (reco-bench hostile), against one reco-service with its defaults.
# Output: result lines on stdout and a summary at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

quick=0 build=build/bench rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --build-dir) build=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "server.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
tput_seconds=10 hostile_seconds=20
[ $quick -eq 1 ] && { tput_seconds=3; hostile_seconds=5; rounds=1; }

log() { echo "server.sh: $*" >&2; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXTAPE_SANITIZE=OFF >/dev/null
cmake --build "$build" -j2 --target reco-model reco-service reco-bench >/dev/null
bin=$repo/$build/bin
work=$repo/$build/bench-server
mkdir -p "$work"

if [ ! -s "$work/model.mxm" ] || [ "$work/model.mxm" -ot "$bin/reco-model" ]; then
    log "synthetic 200k-row catalog and model (k=20)"
    "$bin/reco-model" synth --rows 200000 --out "$work/catalog.csv" --seed 11 >/dev/null
    "$bin/reco-model" build --catalog "$work/catalog.csv" --out "$work/model.mxm" --k 20 \
        --seed 1 >/dev/null
fi
"$bin/reco-bench" sample --model "$work/model.mxm" --count 1000 --seed 4 >"$work/saved_1000.tsv"
"$bin/reco-bench" sample --model "$work/model.mxm" --count 200 --seed 5 >"$work/saved_200.tsv"

. "$here/service.sh"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "fact date=$(date -u +%Y-%m-%dT%H:%MZ) nproc=$(nproc) commit=$(git rev-parse --short HEAD) load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
declare -A rps
for _ in $(seq 1 "$rounds"); do
    # What two busy threads pinned to the same cores get now: near 2.0 on a quiet machine.
    taskset -c 0,1 "$bin/reco-bench" cores --threads 2 --seconds 2
    for w in 1 2; do
        start_service "$work/model.mxm" taskset -c 0,1 "$bin/reco-service" --workers "$w" \
            --log-level warn
        cpu0=$(cpu_ticks "$service_pid")
        line=$("$bin/reco-bench" throughput --endpoint "$service_addr" --saved "$work/saved_1000.tsv" \
            --threads 4 --seconds "$tput_seconds" --warmup 5 --timeout-ms 60000 --label "workers=$w")
        cpu1=$(cpu_ticks "$service_pid")
        r=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
        s=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
        # The service's CPU time over the run: cores it actually got, and requests per CPU
        # second (equal for 1 and 2 workers when the workers scale with the CPU they get).
        echo "$line load=$(cut -d' ' -f1 /proc/loadavg)" \
            "$(awk -v r="$r" -v s="$s" -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" \
                'BEGIN {printf "service_cores=%.2f per_cpu_second=%.0f", t / hz / s, r * s / (t / hz)}')"
        rps[$w]+="$r "
        stop_service
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
m1=$(median <<<"${rps[1]}") m2=$(median <<<"${rps[2]}")
echo "summary workers: median rps 1 worker=$m1 2 workers=$m2 ratio=$(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", b / a}')"

start_service "$work/model.mxm" "$bin/reco-service" --log-level warn
"$bin/reco-bench" hostile --endpoint "$service_addr" --saved "$work/saved_200.tsv" --clients 0 \
    --seconds "$hostile_seconds" --label alone
"$bin/reco-bench" hostile --endpoint "$service_addr" --saved "$work/saved_200.tsv" --clients 100 \
    --pipeline 200 --seconds "$hostile_seconds" --label "100 non-reading"
kill -0 "$service_pid" || { log "reco-service died under the attack"; exit 1; }
stop_service

#!/usr/bin/env bash
# The reco-service benchmark (issue 4), one command:  tests/bench/reco/run.sh [--quick]
# Builds a Release tree, builds models for the real 114k catalog and a synthetic 1.7M one,
# measures Recommend through the RPC (reco-bench) and the original notebook in Python on the
# same saved lists, and writes tests/bench/reco/RESULTS.md (--quick: a short run, written to
# the work directory only).
#   --quick           short timings, synthetic catalog of 200,000 rows
#   --build-dir DIR   Release build tree (default build/bench)
#   --no-deps         skip deploy/deps.sh bench
#   --fresh           rebuild the models and the synthetic catalog even if present
#   --no-profile      skip the callgrind breakdown of a request (profile.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

quick=0 deps=1 fresh=0 profile=1 build=build/bench
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --no-deps) deps=0 ;;
    --fresh) fresh=1 ;;
    --no-profile) profile=0 ;;
    --build-dir) build=$2; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

data_dir=${MIXTAPE_DATA_DIR:-$repo/../shared/data}
real_catalog=$data_dir/spotify_tracks_114k.csv.gz
synth_rows=1700000 synth_label=1.7M
lat_seconds=3 tput_seconds=5 vec_seconds=5 written_seconds=60
if [ $quick -eq 1 ]; then
    synth_rows=200000 synth_label=200k
    lat_seconds=1 tput_seconds=2 vec_seconds=1 written_seconds=5
fi
sizes=(100 1000 10000)
tput_saved=200
tput_threads=(1 2 4 8)
python=/usr/bin/python3
work=$repo/$build/bench-reco
mkdir -p "$work"
results=$work/results.txt
: >"$results"

log() { echo "run.sh: $*" >&2; }
fact() { echo "fact $1=$2" >>"$results"; }

[ $deps -eq 1 ] && bash deploy/deps.sh bench

log "building Release in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMIXTAPE_SANITIZE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target reco-model reco-service reco-bench >/dev/null
bin=$repo/$build/bin

fact date "$(date -u +%Y-%m-%dT%H:%MZ)"
fact nproc "$(nproc)"
fact cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
fact mem_gib "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
fact load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
commit=${MIXTAPE_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -z "${MIXTAPE_COMMIT:-}" ] && [ -n "$(git status --porcelain -- . 2>/dev/null | grep -v '^??' || true)" ]; then
    commit+=" + uncommitted changes"
fi
fact commit "$commit"
fact quick "$quick"

# Builds MODEL from CATALOG unless a model newer than both the catalog and reco-model exists.
build_model() {
    local catalog=$1 model=$2
    if [ $fresh -eq 0 ] && [ -s "$model" ] && [ "$model" -nt "$catalog" ] &&
        [ "$model" -nt "$bin/reco-model" ]; then
        log "reusing $model"
        return
    fi
    log "building model $model from $catalog (k=20)"
    local start=$SECONDS
    "$bin/reco-model" build --catalog "$catalog" --out "$model" --k 20 --seed 1 \
        >"$model.build.log" 2>&1 || { cat "$model.build.log" >&2; return 1; }
    log "model built in $((SECONDS - start)) s"
}

. "$here/service.sh"

# The service's own time per Recommend (its request log line from FIRST_LINE on), to split the
# RPC from the compute: `server catalog= saved= ranking= us=` lines.
server_times() {
    local label=$1 ranking=$2 first_line=$3
    tail -n +"$first_line" "$work/service.log" |
        awk -v c="$label" -v r="$ranking" '/event=request/ && /method=Recommend/ && /status=OK/ {
            us = ""; s = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^us=/) us = substr($i, 4)
                if ($i ~ /^saved=/) s = substr($i, 7)
            }
            if (us != "" && s != "") print "server catalog=" c " saved=" s " ranking=" r " us=" us
        }' >>"$results"
}

rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# One catalog: model, saved lists, service measurements, then the notebook on the same lists.
bench_catalog() {
    local label=$1 catalog=$2 model=$work/model_$1.mxm
    build_model "$catalog" "$model"
    fact "model_bytes_$label" "$(stat -c %s "$model")"
    local saved_files=()
    for n in "${sizes[@]}" $tput_saved; do
        "$bin/reco-bench" sample --model "$model" --count "$n" --seed 4 >"$work/saved_${label}_$n.tsv"
    done
    for n in "${sizes[@]}"; do saved_files+=(--saved "$work/saved_${label}_$n.tsv"); done

    : >"$work/service.log" # this catalog's log alone (copied to service_$label.log below)
    start_service "$model" "$bin/reco-service"
    log "$label: reco-service pid $service_pid at $service_addr"
    fact "rss_idle_kb_$label" "$(rss_kb "$service_pid" VmRSS)"
    log "$label: the RPC's own round trip (Health calls)"
    "$bin/reco-bench" floor --endpoint "$service_addr" --label "$label" \
        --seconds "$lat_seconds" --warmup 20 | tee -a "$results" ||
        log "$label: reco-bench floor reported failed calls"
    # Ranking 0 is the service's default (what users get); 1 is mean cosine, the notebook's.
    for ranking in 0 1; do
        for n in "${sizes[@]}"; do
            log "$label: latency at $n saved, ranking $ranking"
            local first_line
            first_line=$(($(wc -l <"$work/service.log") + 1))
            "$bin/reco-bench" latency --endpoint "$service_addr" --ranking "$ranking" \
                --saved "$work/saved_${label}_$n.tsv" --label "$label" --timeout-ms 60000 \
                --seconds "$lat_seconds" --min-requests 10 --warmup 3 | tee -a "$results" ||
                log "$label: reco-bench reported failed calls (errors= in its result line)"
            server_times "$label" "$ranking" "$first_line"
        done
    done
    fact "hwm_kb_after_latency_$label" "$(rss_kb "$service_pid" VmHWM)"
    for t in "${tput_threads[@]}"; do
        log "$label: throughput at $tput_saved saved, $t client threads"
        "$bin/reco-bench" throughput --endpoint "$service_addr" --timeout-ms 60000 \
            --saved "$work/saved_${label}_$tput_saved.tsv" --label "$label" --threads "$t" \
            --seconds "$tput_seconds" --warmup 3 | tee -a "$results" ||
            log "$label: reco-bench reported failed calls (errors= in its result line)"
    done
    fact "rss_kb_$label" "$(rss_kb "$service_pid" VmRSS)"
    fact "hwm_kb_$label" "$(rss_kb "$service_pid" VmHWM)"
    stop_service
    cp "$work/service.log" "$work/service_$label.log"

    log "$label: one scoring pass over the model, scalar and SIMD (reco-bench kernels)"
    "$bin/reco-bench" kernels --model "$model" --label "$label" | tee -a "$results"

    if [ $profile -eq 1 ]; then
        log "$label: callgrind breakdown of a request at 1,000 and 10,000 saved"
        for ranking in 0 1; do
            TMPDIR=$work "$here/profile.sh" "$bin" "$model" "$work/saved_${label}_1000.tsv" 3 \
                "$label" "$ranking" >>"$results"
        done
        TMPDIR=$work "$here/profile.sh" "$bin" "$model" "$work/saved_${label}_10000.tsv" 1 \
            "$label" 0 >>"$results"
    fi

    log "$label: the notebook in Python on the same saved lists"
    "$python" "$here/notebook.py" --catalog "$catalog" --label "$label" "${saved_files[@]}" \
        --cache-dir "$work/notebook-cache" --vectorised-seconds "$vec_seconds" \
        --written-seconds "$written_seconds" | tee -a "$results"
}

if [ -f "$real_catalog" ]; then
    bench_catalog 114k "$real_catalog"
else
    log "no $real_catalog (set MIXTAPE_DATA_DIR): skipping the real catalog"
fi

synth_csv=$work/synth_$synth_rows.csv
if [ $fresh -eq 1 ] || [ ! -s "$synth_csv" ] || [ "$bin/reco-model" -nt "$synth_csv" ]; then
    log "generating a synthetic catalog of $synth_rows rows"
    "$bin/reco-model" synth --rows "$synth_rows" --out "$synth_csv" --seed 1
fi
bench_catalog "$synth_label" "$synth_csv"

fact load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
command_line="tests/bench/reco/run.sh"
[ $quick -eq 1 ] && command_line+=" --quick"
out=$here/RESULTS.md
[ $quick -eq 1 ] && out=$work/RESULTS.md
"$python" "$here/report.py" --results "$results" --command "$command_line" \
    --real-label 114k --synth-label "$synth_label" --out "$out"
log "wrote $out"

#!/usr/bin/env bash
# model_open of a 170k-row model (issue 3's bar: under 100 ms), this build's model format beside
# an older build's, in one run: both build a model from the same 170k-row synthetic catalog,
# then `reco-model info` (which times model_open: mmap, checksum of the whole file, validation
# of every section) runs REPEAT times for each, alternately; medians compared, of the wall time
# model_open took and of the whole `info` process's CPU time (user + system, from
# bash's time: what a loaded machine disturbs least). Also the reference merged build of every
# track-level file of ../shared/data when DATA has them (time, memory, size, open). Never run by
# ctest.
#   tests/bench/model/open.sh
# Environment: BIN (this build's Release reco-model, default build/rel/bin/reco-model),
# BASE_BIN (an older build's reco-model, optional), DATA (default ../shared/data), OUT (scratch,
# default build/rel/model-open), REPEAT (default 7).
set -euo pipefail
src=$(cd "$(dirname "$0")/../../.." && pwd)
bin=${BIN:-$src/build/rel/bin/reco-model}
base=${BASE_BIN:-}
data=${DATA:-$src/../shared/data}
out=${OUT:-$src/build/rel/model-open}
repeat=${REPEAT:-7}
mkdir -p "$out"
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# One info run: "wall_ms cpu_ms" (model_open's wall time, the process's user + system CPU
# time as bash's time reports it, in ms).
measure() {
    local wall cpu TIMEFORMAT='%3U %3S'
    { time "$1" info "$2" >"$out/info"; } 2>"$out/time"
    wall=$(awk '/^opened in/ {print $3}' "$out/info")
    cpu=$(awk '{printf "%.0f", ($1 + $2) * 1000}' "$out/time")
    echo "$wall $cpu"
}
row() { # label file walls... ; cpus in the global array cpus
    local label=$1 file=$2
    shift 2
    echo "| $label | $(stat -c %s "$file") B | $(printf '%s\n' "$@" | median) ms | $(printf '%s\n' "${cpus[@]}" | median) ms | $* |"
}

"$bin" synth --rows 170000 --out "$out/s170k.csv" --seed 1 2>/dev/null
"$bin" build --catalog "$out/s170k.csv" --out "$out/s170k.model" --restarts 1 >/dev/null 2>&1
[ -z "$base" ] || "$base" build --catalog "$out/s170k.csv" --out "$out/s170k.base.model" \
    --restarts 1 >/dev/null 2>&1
ours=() ours_cpu=() theirs=() theirs_cpu=()
for ((i = 0; i < repeat; i++)); do
    read -r w c < <(measure "$bin" "$out/s170k.model")
    ours+=("$w"); ours_cpu+=("$c")
    if [ -n "$base" ]; then
        read -r w c < <(measure "$base" "$out/s170k.base.model")
        theirs+=("$w"); theirs_cpu+=("$c")
    fi
done
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | file size | model_open wall, median | info process CPU, median | model_open wall, each run (ms) |"
echo "|---|---:|---:|---:|---|"
cpus=("${ours_cpu[@]}")
row "170k synthetic, this build ($("$bin" info "$out/s170k.model" | awk '/^version/ {print $3, $4}' | tr -d '()'))" "$out/s170k.model" "${ours[@]}"
if [ -n "$base" ]; then
    cpus=("${theirs_cpu[@]}")
    row "170k synthetic, BASE_BIN (the format it writes)" "$out/s170k.base.model" "${theirs[@]}"
fi

if [ -f "$data/spotify_tracks_114k.csv.gz" ]; then
    /usr/bin/time -f "%e %M" -o "$out/merged.time" "$bin" build \
        --catalog "$data/spotify_tracks_114k.csv.gz" \
        --catalog "$data/spotify_songs_tidytuesday_2020.csv.gz" \
        --catalog "$data/spotify_hit_predictor_1960_2019.csv.gz" \
        --catalog "$data/spotify_genre_search_2024.csv.gz" \
        --artist-genres "$data/spotify160k_v1_data_w_genres.csv.gz" --no-catalog-genres \
        --out "$out/merged.model" --log-level warn >"$out/merged.build"
    merged=() cpus=()
    for ((i = 0; i < repeat; i++)); do
        read -r w c < <(measure "$bin" "$out/merged.model")
        merged+=("$w"); cpus+=("$c")
    done
    read -r secs kb <"$out/merged.time"
    row "reference merge of the 4 track-level files ($(awk '/^built/ {print $3}' "$out/merged.build") songs; build ${secs} s wall, ${kb} KB max RSS)" "$out/merged.model" "${merged[@]}"
fi

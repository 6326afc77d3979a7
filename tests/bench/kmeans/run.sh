#!/usr/bin/env bash
# The k-means / model-build benchmark (issue 3), one command:  tests/bench/kmeans/run.sh
# 1. Builds reco-model in a Release tree.
# 2. Builds the real 114k catalog with k=20 and 10 restarts, dumping the scaled matrix, and
#    fits scikit-learn's KMeans (same k, same n_init, same matrix) side by side, --repeat times
#    each, alternating; also times the notebook-style whole build in Python (pandas +
#    StandardScaler + KMeans) against our whole build.
# 3. Builds a 170k-row synthetic catalog and times model_open on its model (reco-model info).
# 4. Writes tests/bench/kmeans/RESULTS.md (or only prints, with --no-write).
#   --repeat N        runs of each side (default 3; the median is reported)
#   --build-dir DIR   Release build tree (default build/bench-kmeans)
#   --catalog FILE    catalog (default /work/shared/data/spotify_tracks_114k.csv.gz)
#   --no-write        print the report instead of writing RESULTS.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

repeat=3 build=build/bench-kmeans write=1
catalog=${MIXTAPE_DATA:-/work/shared/data}/spotify_tracks_114k.csv.gz
while [ $# -gt 0 ]; do
    case "$1" in
    --repeat) repeat=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --catalog) catalog=$2; shift ;;
    --no-write) write=0 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -r "$catalog" ] || { echo "run.sh: catalog $catalog not readable" >&2; exit 1; }

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target reco-model >/dev/null
bin=$build/bin/reco-model
work=$(mktemp -d /tmp/bench-kmeans.XXXXXX)
trap 'rm -rf "$work"' EXIT

field() { # field NAME < key=value lines: the last value of NAME (NAME=, not foo_NAME=)
    grep -oE "(^| )$1=[^ ]*" | tail -1 | cut -d= -f2
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

ours_fit=() ours_total=() ours_inertia=() sk_fit=() sk_inertia=() sk_total=()
for run in $(seq 1 "$repeat"); do
    "$bin" build --catalog "$catalog" --out "$work/m.model" --k 20 --restarts 10 \
        --seed "$run" --dump-matrix "$work/m.npy" >/dev/null 2>"$work/ours.log"
    ours_fit+=("$(field kmeans_seconds <"$work/ours.log")")
    ours_total+=("$(field total_seconds <"$work/ours.log")")
    ours_inertia+=("$(field inertia <"$work/ours.log")")
    pipeline=()
    [ "$run" -le 1 ] && pipeline=(--pipeline "$catalog")
    /usr/bin/python3 "$here/sklearn_kmeans.py" "$work/m.npy" --k 20 --n-init 10 --seed "$run" \
        "${pipeline[@]}" >"$work/sk.log"
    sk_fit+=("$(field fit_seconds <"$work/sk.log")")
    sk_inertia+=("$(field inertia <"$work/sk.log")")
    if [ "$run" -le 1 ]; then
        sk_total+=("$(field pipeline_seconds <"$work/sk.log")")
        sk_version=$(field sklearn_version <"$work/sk.log")
        shape="$(field rows <"$work/sk.log") x $(field dims <"$work/sk.log")"
    fi
    echo "run $run: ours fit ${ours_fit[-1]} s (build ${ours_total[-1]} s) inertia ${ours_inertia[-1]};" \
         "sklearn fit ${sk_fit[-1]} s inertia ${sk_inertia[-1]}" >&2
done
tracks_line=$(grep -o 'event=catalog_loaded.*' "$work/ours.log")

of=$(printf '%s\n' "${ours_fit[@]}" | median)
ot=$(printf '%s\n' "${ours_total[@]}" | median)
oi=$(printf '%s\n' "${ours_inertia[@]}" | median)
sf=$(printf '%s\n' "${sk_fit[@]}" | median)
si=$(printf '%s\n' "${sk_inertia[@]}" | median)
st=${sk_total[0]}
ob=$(printf '%s\n' "${ours_inertia[@]}" | sort -g | head -1)
sb=$(printf '%s\n' "${sk_inertia[@]}" | sort -g | head -1)
speed=$(awk -v a="$sf" -v b="$of" 'BEGIN {printf "%.1f", a / b}')
speed_total=$(awk -v a="$st" -v b="$ot" 'BEGIN {printf "%.1f", a / b}')
gap=$(awk -v a="$oi" -v b="$si" 'BEGIN {printf "%+.2f", (a / b - 1) * 100}')
verdict_speed=$(awk -v s="$speed" 'BEGIN {print (s >= 2 ? "PASS" : "FAIL")}')
verdict_inertia=$(awk -v g="$gap" 'BEGIN {print (g <= 1 ? "PASS" : "FAIL")}')

# model_open on a 170k-row model.
"$bin" synth --rows 170000 --out "$work/s170k.csv" --seed 1 2>/dev/null
"$bin" build --catalog "$work/s170k.csv" --out "$work/s170k.model" --restarts 1 >/dev/null \
    2>"$work/s170k.log"
size=$(stat -c %s "$work/s170k.model")
opens=()
for i in 1 2 3 4 5 6 7; do
    opens+=("$("$bin" info "$work/s170k.model" | awk '/^opened in/ {print $3}')")
done
open_ms=$(printf '%s\n' "${opens[@]}" | median)
songs=$(field tracks <"$work/s170k.log")
verdict_open=$(awk -v t="$open_ms" 'BEGIN {print (t < 100 ? "PASS" : "FAIL")}')

report=$(cat <<REPORT
# k-means and model benchmark (issue 3)

Produced by \`tests/bench/kmeans/run.sh --repeat $repeat\` on $(date -u +%Y-%m-%d) ($(nproc) cores,
$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), machine shared with other builds:
the two sides run alternately in one session and the medians are compared).

## k-means on the 114k catalog, k=20

Catalog \`$(basename "$catalog")\`: ${tracks_line#event=catalog_loaded catalog=$catalog }.
Matrix: $shape float32, standardised (year is absent from this schema), handed to
scikit-learn through \`reco-model build --dump-matrix\` so both sides cluster the same numbers.

| | reco-model | scikit-learn $sk_version | ratio |
|---|---:|---:|---:|
| k-means fit (median of $repeat), s | $of | $sf | **${speed}x** faster |
| whole build, s (ours: load CSV.gz, collapse, scale, k-means, write model; sklearn: pandas read_csv, drop repeated ids, StandardScaler, KMeans) | $ot | $st | ${speed_total}x faster |
| inertia (median of $repeat) | $oi | $si | ${gap}% |
| best inertia over the runs | $ob | $sb | |

Per run (seed = run number on both sides): ours fit ${ours_fit[*]} s, inertia ${ours_inertia[*]};
scikit-learn fit ${sk_fit[*]} s, inertia ${sk_inertia[*]}.

Bars: ours at least 2x faster: **$verdict_speed**; inertia within 1% of scikit-learn's: **$verdict_inertia**.

What was matched: scikit-learn 1.2's KMeans defaults are \`n_init=10\` (with a FutureWarning that
1.4 changes it to "auto"), \`algorithm="lloyd"\` ("auto"/"full" are deprecated aliases of it),
\`init="k-means++"\` (greedy, 2 + int(log k) local trials), \`tol=1e-4\` relative to the mean
per-feature variance, \`max_iter=300\`. reco-model uses the same: greedy k-means++ with 2 + log(k)
trials, Lloyd until labels stop changing or the total squared centre shift is at most
1e-4 x mean variance, at most 300 iterations, 10 restarts (its default \`--restarts\`), lowest
inertia kept, on the same float32 matrix. Both use both cores (scikit-learn through OpenMP,
reco-model through its own threads).

## model_open on a 170k-row model

\`reco-model synth --rows 170000\` -> \`reco-model build\` ($songs songs after duplicate collapse,
$size bytes) -> \`reco-model info\` 7 times, which times \`model_open\` (mmap, checksum over the
whole file, full validation of every section): runs ${opens[*]} ms, median **$open_ms ms**.
Bar < 100 ms: **$verdict_open**.
REPORT
)
if [ "$write" = 1 ]; then
    printf '%s\n' "$report" >"$here/RESULTS.md"
    echo "wrote $here/RESULTS.md" >&2
else
    printf '%s\n' "$report"
fi

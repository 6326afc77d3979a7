#!/usr/bin/env bash
# The model-build benchmark (issues 3 and 15), one command:  tests/bench/kmeans/run.sh
# 1. Installs what it needs (deploy/deps.sh bench: scikit-learn, OpenBLAS, threadpoolctl,
#    FAISS) and builds reco-model and kmeans-bench in a Release tree.
# 2. Prints the BLAS, OpenMP and thread counts the Python side really uses (threadpoolctl), with
#    OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for every Python command (and only there).
# 3. For each catalog: the real 114k one (../shared/data/spotify_tracks_114k.csv.gz) and a 1.7M
#    synthetic one (reco-model synth): reco-model's k-means fit (k=20, 10 restarts) against
#    scikit-learn's KMeans on OpenBLAS and FAISS's k-means on the very same matrix (reco-model
#    build --dump-matrix), alternating, seeds 1..--repeat (1.7M: seed 1 only); then the whole
#    build, CSV.gz to a validated model file, against pandas + scikit-learn, with peak RSS.
# 4. The whole build of a 10M-row synthetic catalog: time, peak RSS, and the model validated.
# 5. On the 114k matrix, each speed-up of the fit switched off in turn (kmeans-bench).
# 6. model_open of a 170k-row synthetic model, 7 times (issue 3).
# 7. Writes tests/bench/kmeans/RESULTS.md (or only prints, with --no-write).
#   --repeat N        seeds on the 114k catalog (default 3)
#   --build-dir DIR   Release build tree (default build/bench-kmeans)
#   --data DIR        the real catalogs (default $MIXTAPE_DATA or ../shared/data)
#   --synth-dir DIR   keep the synthetic catalogs there and reuse them (default: a temp dir)
#   --no-10m          skip the 10M build
#   --large-rows N    rows of the large synthetic catalog (default 1700000)
#   --timeout S       longest a single baseline may run before it is reported as timed out
#                     (default 1200)
#   --faiss-timeout S the same for FAISS on its default threads (default 240): on a loaded
#                     machine its OpenMP threads spin on each other for minutes
#   --no-write        print the report instead of writing RESULTS.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

repeat=3 build=build/bench-kmeans write=1 big=1 synth_dir="" limit=1200 large=1700000
faiss_limit=240
data=${MIXTAPE_DATA:-../shared/data}
while [ $# -gt 0 ]; do
    case "$1" in
    --repeat) repeat=$2; shift ;;
    --build-dir) build=$2; shift ;;
    --data) data=$2; shift ;;
    --synth-dir) synth_dir=$2; shift ;;
    --no-10m) big=0 ;;
    --large-rows) large=$2; shift ;;
    --timeout) limit=$2; shift ;;
    --faiss-timeout) faiss_limit=$2; shift ;;
    --no-write) write=0 ;;
    -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
catalog=$data/spotify_tracks_114k.csv.gz
[ -r "$catalog" ] || { echo "run.sh: catalog $catalog not readable (--data DIR)" >&2; exit 1; }

deploy/deps.sh bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target reco-model kmeans-bench >/dev/null
bin=$build/bin/reco-model
work=$(mktemp -d /tmp/bench-kmeans.XXXXXX)
trap 'rc=$?; if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "run.sh: failed; files kept in $work" >&2; fi' EXIT
[ -n "$synth_dir" ] || synth_dir=$work
mkdir -p "$synth_dir"

py() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout "$limit" /usr/bin/python3 "$here/baselines.py" "$@"; }
# fastest A B: the smaller of two times ("-" or ">N" when a side did not finish).
fastest() { awk -v a="$1" -v b="$2" 'BEGIN {ok_a = a ~ /^[0-9.]+$/; ok_b = b ~ /^[0-9.]+$/;
    if (ok_a && ok_b) print (a + 0 < b + 0 ? a : b); else if (ok_a) print a; else print b}'; }
field() { # field NAME < key=value lines: the last value of NAME (NAME=, not foo_NAME=)
    { grep -oE "(^| )$1=[^ ]*" || true; } | tail -1 | cut -d= -f2
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# ratio A B: A / B to one decimal; a baseline that timed out (">N") gives a lower bound.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {low = a ~ /^>[0-9.]+$/; if (low) a = substr(a, 2);
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "-";
    else printf "%s%.1f", low ? ">" : "", a / b}'; }
# timed LOG CMD...: runs CMD under GNU time; LOG.time then holds wall seconds and peak RSS.
timed() {
    local log=$1; shift
    /usr/bin/time -f "wall=%e rss_kib=%M" -o "$log.time" "$@"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

env_line=$(py env)
echo "$env_line" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# fit_size NAME CSV SEEDS: reco-model, scikit-learn and FAISS fits on one catalog's matrix,
# then both whole builds. Leaves its table rows in $work/NAME.rows and notes in $work/NAME.notes.
fit_size() {
    local name=$1 csv=$2 seeds=$3 s
    local of=() oc=() oi=() sf=() sc=() si=() ff=() fc=() fi=() f1=() f1i=() iters=()
    for s in $(seq 1 "$seeds"); do
        "$bin" build --catalog "$csv" --out "$work/$name.model" --k 20 --restarts 10 --seed "$s" \
            --dump-matrix "$work/$name.npy" >/dev/null 2>"$work/$name.ours.log"
        local kd; kd=$(grep 'event=kmeans_done' "$work/$name.ours.log")
        of+=("$(field kmeans_seconds <<<"$kd")"); oi+=("$(field inertia <<<"$kd")")
        local total; total=$(field total_iterations <<<"$kd")
        local niter=$(((total + 9) / 10))
        iters+=("$niter")
        "$build/bin/kmeans-bench" "$work/$name.npy" 20 10 "$s" 0 0 >"$work/$name.kb.log"
        oc+=("$(field cpu_seconds <"$work/$name.kb.log")")
        py sklearn "$work/$name.npy" --k 20 --n-init 10 --seed "$s" >"$work/$name.sk.log" ||
            echo "fit_seconds=>$limit cpu_seconds=- inertia=- n_iter=-" >"$work/$name.sk.log"
        sf+=("$(field fit_seconds <"$work/$name.sk.log")"); sc+=("$(field cpu_seconds <"$work/$name.sk.log")")
        si+=("$(field inertia <"$work/$name.sk.log")")
        if [ "$s" = 1 ]; then # seed 1 only: on a loaded machine it mostly spins
            limit=$faiss_limit py faiss "$work/$name.npy" --k 20 --nredo 10 --niter "$niter" \
                --seed "$s" --all-rows >"$work/$name.fa.log" ||
                echo "fit_seconds=>$faiss_limit cpu_seconds=- inertia=-" >"$work/$name.fa.log"
        fi
        ff+=("$(field fit_seconds <"$work/$name.fa.log")"); fc+=("$(field cpu_seconds <"$work/$name.fa.log")")
        fi+=("$(field inertia <"$work/$name.fa.log")")
        OMP_NUM_THREADS=1 py faiss "$work/$name.npy" --k 20 --nredo 10 --niter "$niter" --seed "$s" \
            --all-rows >"$work/$name.fa1.log" ||
            echo "fit_seconds=timeout inertia=-" >"$work/$name.fa1.log"
        f1+=("$(field fit_seconds <"$work/$name.fa1.log")"); f1i+=("$(field inertia <"$work/$name.fa1.log")")
        echo "$name seed $s: ours ${of[-1]} s (cpu ${oc[-1]}) inertia ${oi[-1]}; sklearn ${sf[-1]} s" \
             "(cpu ${sc[-1]}) inertia ${si[-1]}; faiss ${ff[-1]} s (cpu ${fc[-1]}) inertia ${fi[-1]}" \
             "niter $niter; faiss 1 thread ${f1[-1]} s" >&2
    done
    OMP_NUM_THREADS=1 py faiss "$work/$name.npy" --k 20 --nredo 10 --niter 25 --seed 1 >"$work/$name.fad.log" ||
        echo "fit_seconds=timeout inertia=-" >"$work/$name.fad.log"
    local shape; shape="$(field rows <"$work/$name.sk.log") x $(field dims <"$work/$name.sk.log")"
    [ "$shape" != " x " ] || shape="$(field rows <"$work/$name.kb.log") x $(field dims <"$work/$name.kb.log")"
    local kernel; kernel="$(field kernel <"$work/$name.kb.log"), $(field threads <"$work/$name.kb.log") threads, $(field teams <"$work/$name.kb.log") restarts at once"

    # Whole builds, one each: ours (no matrix dump) and the notebook's.
    timed "$work/$name.build" "$bin" build --catalog "$csv" --out "$work/$name.model" --k 20 \
        --restarts 10 --seed 1 >/dev/null 2>"$work/$name.build.log"
    "$bin" info "$work/$name.model" >"$work/$name.info"
    local bw brss; bw=$(field wall <"$work/$name.build.time"); brss=$(field rss_kib <"$work/$name.build.time")
    local pw=">$limit" prss="-" pl="-" prows="-"
    if timed "$work/$name.pipe" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE timeout "$limit" \
        /usr/bin/python3 "$here/baselines.py" pipeline "$csv" --k 20 --n-init 10 --seed 1 \
        >"$work/$name.pipe.log" 2>&1; then
        pw=$(field wall <"$work/$name.pipe.time"); prss=$(mib "$(field rss_kib <"$work/$name.pipe.time")")
        pl=$(field pipeline_load_seconds <"$work/$name.pipe.log"); prows=$(field pipeline_rows <"$work/$name.pipe.log")
    fi
    echo "$name whole build: ours $bw s $(mib "$brss") MiB; pandas+sklearn $pw s $prss MiB" >&2

    local omf osf off of1 ocf scf fcf oim sim fim sbest obest
    omf=$(printf '%s\n' "${of[@]}" | median); osf=$(printf '%s\n' "${sf[@]}" | median)
    off=${ff[0]}; of1=$(printf '%s\n' "${f1[@]}" | median)
    ocf=$(printf '%s\n' "${oc[@]}" | median); scf=$(printf '%s\n' "${sc[@]}" | median)
    fcf=${fc[0]}
    oim=$(printf '%s\n' "${oi[@]}" | median); sim=$(printf '%s\n' "${si[@]}" | median)
    fim=${fi[0]}
    obest=$(printf '%s\n' "${oi[@]}" | sort -g | head -1); sbest=$(printf '%s\n' "${si[@]}" | { grep -v -- - || true; } | sort -g | head -1)
    local gap; gap=$(awk -v a="$obest" -v b="$sbest" 'BEGIN {if (b == "") print "-"; else printf "%+.2f", (a / b - 1) * 100}')
    local vs vf vi
    vs=$(awk -v s="$(ratio "$osf" "$omf")" 'BEGIN {sub(/^>/, "", s); print (s != "-" && s + 0 >= 2 ? "PASS" : "FAIL")}')
    local fbest; fbest=$(fastest "$off" "$of1")
    vf=$(awk -v s="$(ratio "$fbest" "$omf")" 'BEGIN {sub(/^>/, "", s); print (s != "-" && s + 0 >= 2 ? "PASS" : "FAIL")}')
    vi=$(awk -v g="$gap" 'BEGIN {print (g == "-" ? "not measured (scikit-learn timed out)" : (g <= 1 ? "PASS" : "FAIL"))}')
    {
        echo "| $name ($shape) | k-means fit, s (median of $seeds; FAISS on its default threads: seed 1) | **$omf** | $osf ($(ratio "$osf" "$omf")x) | $off ($(ratio "$off" "$omf")x) | $of1 ($(ratio "$of1" "$omf")x) |"
        echo "| | CPU seconds, every thread | $ocf | $scf | $fcf | |"
        echo "| | inertia (median; best) | $oim; $obest | $sim; $sbest | $fim | $(printf '%s\n' "${f1i[@]}" | median) |"
        echo "| | whole build, CSV.gz to model file, s | **$bw** | $pw ($(ratio "$pw" "$bw")x) | | |"
        echo "| | peak RSS of the whole build, MiB | $(mib "$brss") | $prss | | |"
    } >"$work/$name.rows"
    {
        echo "- **$name**: ours at least 2x faster than scikit-learn: **$vs**; than FAISS (the faster of its"
        echo "  two thread settings, $fbest s): **$vf**;"
        echo "  best inertia within 1% of scikit-learn's best: **$vi** ($gap%). Per seed: ours ${of[*]} s"
        echo "  (inertia ${oi[*]}); scikit-learn ${sf[*]} s (inertia ${si[*]}, n_iter"
        echo "  $(field n_iter <"$work/$name.sk.log") for the last); FAISS ${ff[*]} s (inertia ${fi[*]}; seed 1), one thread ${f1[*]} s;"
        echo "  FAISS niter per seed ${iters[*]} (reco-model's iterations per restart, rounded up). FAISS's"
        echo "  defaults (niter 25, training on $(field train_rows <"$work/$name.fad.log") sampled rows; one thread):"
        echo "  $(field fit_seconds <"$work/$name.fad.log") s, inertia $(field inertia <"$work/$name.fad.log")."
        echo "  reco-model kernel: $kernel. Whole build: $(grep -o 'tracks=[0-9]*' "$work/$name.build.log" | head -1) songs after"
        echo "  collapse; pandas kept $prows rows (repeated ids dropped), its load + scale took $pl s."
    } >"$work/$name.notes"
}

fit_size 114k "$catalog" "$repeat"
s17=$synth_dir/synth-$large.csv.gz
[ -s "$s17" ] || "$bin" synth --rows "$large" --out "$s17" --seed 1 2>/dev/null
large_name=$(awk -v n="$large" 'BEGIN {if (n >= 1e6) printf "%gM", n / 1e6; else printf "%gk", n / 1e3}')
fit_size "$large_name" "$s17" 1

# Each speed-up of the fit, on the 114k matrix (seed 1, 10 restarts, every core): all off
# (plain Lloyd, portable kernel, one restart at a time), then switched on one after another.
"$bin" build --catalog "$catalog" --out "$work/a.model" --k 20 --restarts 10 --seed 1 \
    --dump-matrix "$work/a.npy" >/dev/null 2>&1
steps=""
for step in "7 plain Lloyd, portable kernel, restarts one at a time (rows split over threads)" \
            "6 + Hamerly bounds (lazy, prefetched)" \
            "4 + SIMD scan kernel (rows in vector lanes)" \
            "0 + restarts in parallel (everything on)"; do
    bits=${step%% *} what=${step#* }
    "$build/bin/kmeans-bench" "$work/a.npy" 20 10 1 0 "$bits" >"$work/step.log"
    steps+="| $what | $(field fit_seconds <"$work/step.log") | $(field cpu_seconds <"$work/step.log") | $(field rows_scanned <"$work/step.log") of $(field rows_visited <"$work/step.log") | $(field inertia <"$work/step.log") |"$'\n'
done

# model_open on a 170k-row model (issue 3).
"$bin" synth --rows 170000 --out "$work/s170k.csv" --seed 1 2>/dev/null
"$bin" build --catalog "$work/s170k.csv" --out "$work/s170k.model" --restarts 1 >/dev/null \
    2>"$work/s170k.log"
opens=()
for i in 1 2 3 4 5 6 7; do
    opens+=("$("$bin" info "$work/s170k.model" | awk '/^opened in/ {print $3}')")
done
open_ms=$(printf '%s\n' "${opens[@]}" | median)
verdict_open=$(awk -v t="$open_ms" 'BEGIN {print (t < 100 ? "PASS" : "FAIL")}')
open_report="\`reco-model synth --rows 170000\` -> \`reco-model build\` ($(field tracks <"$work/s170k.log") songs after duplicate
collapse, $(stat -c %s "$work/s170k.model") bytes) -> \`reco-model info\` 7 times, which times \`model_open\` (mmap,
checksum over the whole file, full validation of every section): runs ${opens[*]} ms, median
**$open_ms ms**. Bar < 100 ms: **$verdict_open**."

big_report="(skipped: --no-10m)"
if [ "$big" = 1 ]; then
    s10=$synth_dir/synth-10000000.csv.gz
    if [ ! -s "$s10" ]; then
        timed "$work/synth10" "$bin" synth --rows 10000000 --out "$s10" --seed 1 2>/dev/null
        synth_note="written in $(field wall <"$work/synth10.time") s"
    else
        synth_note="reused from --synth-dir"
    fi
    timed "$work/big" "$bin" build --catalog "$s10" --out "$work/big.model" --k 20 --restarts 10 \
        --seed 1 >/dev/null 2>"$work/big.log"
    "$bin" info "$work/big.model" >"$work/big.info"
    bw=$(field wall <"$work/big.time"); brss=$(mib "$(field rss_kib <"$work/big.time")")
    verdict=$(awk -v r="$brss" 'BEGIN {print (r < 8192 ? "PASS" : "FAIL")}')
    big_report="\`reco-model synth --rows 10000000\` ($synth_note, $(stat -L -c %s "$s10") bytes gzipped), then
\`reco-model build --catalog synth-10000000.csv.gz --k 20 --restarts 10 --seed 1\` under GNU time:
**$bw s, peak RSS $brss MiB** (bar < 8 GB: **$verdict**). $(grep -o 'event=catalog_loaded.*' "$work/big.log" | sed 's/event=catalog_loaded //;s/catalog=[^ ]* //');
$(grep -o 'event=kmeans_done.*' "$work/big.log" | sed 's/event=kmeans_done //'). \`reco-model info\` opened
and validated the $(stat -c %s "$work/big.model")-byte model in $(awk '/^opened in/ {print $3, $4}' "$work/big.info")."
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

report=$(cat <<REPORT
# Model build benchmark (issues 3 and 15)

Produced by \`tests/bench/kmeans/run.sh --repeat $repeat\` on $(date -u +%Y-%m-%d) at $(git rev-parse --short HEAD)
($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);
load average $load_before before, $load_after after: the machine is shared with other builds, so
wall times are noisy; the sides run alternately in one session, and CPU seconds are shown too).

Python side (\`/usr/bin/python3\`, Debian packages; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
for it), as threadpoolctl reports it after importing scikit-learn and FAISS:
\`$env_line\`

## k-means fit and whole build, k=20, 10 restarts

All three cluster the same float32 matrix, the one \`reco-model build --dump-matrix\` writes
(standardised features). scikit-learn: \`KMeans(n_clusters=20, n_init=10, init="k-means++",
algorithm="lloyd", tol=1e-4, max_iter=300)\` (greedy k-means++, tolerance on the centre shift
relative to the mean variance) on OpenBLAS, its default threads. FAISS: \`faiss.Kmeans(d, 20,
nredo=10, niter=N, seed=s, max_points_per_centroid=rows)\` on all rows with its default OpenMP
threads (and, as an extra column, one thread); FAISS has no tolerance and runs all N iterations,
so N is reco-model's own iteration count per restart for that seed, rounded up (its default of
25 is reported below). reco-model: the same k-means++ rule (seeding from a 131,072-row sample
above that size), the same tolerance rule, max 300 iterations, every core. Inertia is over every
row for all of them. Whole build: \`reco-model build\` (read CSV.gz, collapse duplicate releases,
scale, k-means, write and validate the model file) against the notebook's pandas \`read_csv\`,
repeated ids dropped, StandardScaler, KMeans (same settings), each under GNU time.

| catalog | | reco-model | scikit-learn (OpenBLAS) | FAISS | FAISS, 1 thread |
|---|---|---:|---:|---:|---:|
$(cat "$work/114k.rows")
$(cat "$work/$large_name.rows")

$(cat "$work/114k.notes")
$(cat "$work/$large_name.notes")

The merged catalog of every track-level file in \`../shared/data\` is not measured here:
\`reco-model build\` takes one \`--catalog\` at this commit.

## What each step of the fit pays (114k matrix, seed 1, 10 restarts, every core)

\`$build/bin/kmeans-bench MATRIX 20 10 1 0 BITS\` with the KMEANS_ABLATE_* bits of \`kmeans.h\`:

| fit | wall, s | CPU, s | rows scored against every centre | inertia |
|---|---:|---:|---:|---:|
$steps
Seeding from a sample only acts above 131,072 rows (the 1.7M and 10M catalogs).

## Whole build of a 10M-row synthetic catalog

$big_report

## model_open on a 170k-row model

$open_report
REPORT
)
if [ "$write" = 1 ]; then
    printf '%s\n' "$report" >"$here/RESULTS.md"
    echo "wrote $here/RESULTS.md" >&2
else
    printf '%s\n' "$report"
fi

#!/usr/bin/env bash
# The recommendation-quality evaluation, in one command: builds Release, builds the model
# variants from the 114k genre-labelled catalog, runs every recommend() ranking on every variant
# and the baselines through bin/reco-evaluate, and writes tests/quality/RESULTS.md and
# tests/quality/quality.png. Real data only; never run by ctest.
#   tests/quality/run.sh                 # the full run (200 users per type)
#   USERS=50 tests/quality/run.sh        # quicker, noisier
# Environment: BUILD (default build/quality), DATA (the 114k catalog), USERS, SEED, THREADS,
# VARIANTS (space-separated subset of the variant names below), OUT (scratch directory).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build/quality}
data=${DATA:-$src/../shared/data/spotify_tracks_114k.csv.gz}
users=${USERS:-200}
seed=${SEED:-7}
threads=${THREADS:-2}
out=${OUT:-$build/quality-run}
command="tests/quality/run.sh${USERS:+ (USERS=$USERS)}${VARIANTS:+ (VARIANTS=$VARIANTS)}"

[ -f "$data" ] || { echo "run.sh: catalog $data not found (set DATA)"; exit 1; }
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target reco-model reco-evaluate >/dev/null
mkdir -p "$out"

# The 114k catalog's features (it has no year): the default, and the default without popularity.
all_features=valence,acousticness,popularity,danceability,duration_ms,energy,explicit,instrumentalness,key,liveness,loudness,mode,speechiness,tempo
no_popularity=${all_features/popularity,/}
# name -> reco-model build arguments. The k sweep uses the default features (the 14 the catalog
# has); the feature options are tried one at a time at k=20, together at k=20, and the one that
# helped (binary weight 0.5, now reco-model's default) at k=40 and k=80. Every variant names its
# binary weight, so the table means the same whatever the default is.
declare -A variant_args=(
  [k5]="--k 5 --binary-weight 1"
  [k10]="--k 10 --binary-weight 1"
  [k20]="--k 20 --binary-weight 1"
  [k40]="--k 40 --binary-weight 1"
  [k80]="--k 80 --binary-weight 1"
  [k160]="--k 160 --binary-weight 1"
  [k20-nopop]="--k 20 --features $no_popularity --binary-weight 1"
  [k20-circle]="--k 20 --key-encoding circle --binary-weight 1"
  [k20-bin05]="--k 20 --binary-weight 0.5"
  [k20-all3]="--k 20 --features $no_popularity --key-encoding circle --binary-weight 0.5"
  [k40-bin05]="--k 40 --binary-weight 0.5"
  [k80-bin05]="--k 80 --binary-weight 0.5"
)
variants=${VARIANTS:-k5 k10 k20 k40 k80 k160 k20-nopop k20-circle k20-bin05 k20-all3 k40-bin05 k80-bin05}

build_model() { # name -> path of the model, built once per argument set
  local name=$1 args=${variant_args[$1]}
  local model="$out/$name.model"
  if [ ! -f "$model" ] || [ "$(cat "$model.args" 2>/dev/null)" != "$args $data" ]; then
    echo "run.sh: building model $name ($args)" >&2
    # shellcheck disable=SC2086
    "$build/bin/reco-model" build --catalog "$data" --out "$model" --seed 1 $args \
      >"$model.log" 2>&1
    echo "$args $data" >"$model.args"
  fi
  echo "$model"
}

evaluate() { # name methods: prints the result lines; reuses a run with the same model,
  # methods, users and seed unless reco-evaluate (or the model) was rebuilt since
  local model cached key
  model=$(build_model "$1")
  cached="$out/$1.$2.tsv"
  key="${variant_args[$1]}|$2|$users|$seed|$data"
  if [ -f "$cached" ] && [ "$(cat "$cached.key" 2>/dev/null)" = "$key" ] &&
     [ "$cached" -nt "$build/bin/reco-evaluate" ] && [ "$cached" -nt "$model" ]; then
    echo "run.sh: reusing $cached" >&2
  else
    echo "run.sh: evaluating $2 on $1" >&2
    "$build/bin/reco-evaluate" --model "$model" --catalog "$data" --methods "$2" \
      --users "$users" --seed "$seed" --threads "$threads" --label "$1" --check \
      >"$cached.tmp" 2>>"$out/evaluate.log"
    mv "$cached.tmp" "$cached"
    echo "$key" >"$cached.key"
  fi
  cat "$cached"
}

results="$out/results.tsv"
start=$(date +%s)
# 1. Every recommend() ranking on every model variant; 2. every baseline in the reference space
# (k=20, default features: the notebook's); 3. the feature-dependent baselines again in the space
# of the best configuration, when that differs, so no baseline is handicapped by features.
{
  printf 'label\tmethod\tusers_type\tusers\tprecision\tfidelity\trecall\tartists\thygiene\tpicks\tms_per_user\n'
  for name in $variants; do
    evaluate "$name" reco
  done
  evaluate k20 baselines
} >"$results"
best=$(/usr/bin/python3 "$src/tests/quality/report.py" --best "$results")
best_space=$(echo "$best" | cut -f2)
features_of() { echo "${variant_args[$1]}" | sed -E 's/--k [0-9]+ ?//'; }
if [ "$(features_of "$best_space")" != "$(features_of k20)" ]; then
  evaluate "$best_space" mean,mean-unfiltered,knn-union,knn-union-artists >>"$results"
fi
echo "run.sh: evaluation took $(( $(date +%s) - start )) s" >&2
/usr/bin/python3 "$src/tests/quality/report.py" "$results" "$src/tests/quality/RESULTS.md" \
  "$src/tests/quality/quality.png" "$command"
echo "run.sh: wrote tests/quality/RESULTS.md and tests/quality/quality.png (raw: $results)" >&2

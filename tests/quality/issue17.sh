#!/usr/bin/env bash
# Issue 17's quality bars, in one command: builds Release, builds the models below, runs
# bin/reco-evaluate on real TidyTuesday playlists (single, and mixed 70/30 and 50/30/20) and on
# the simulated multi-genre users of the 114k set, with the flat ranking and the baselines in
# the same run, and writes tests/quality/RESULTS17.md (bars met / not met, with numbers).
# Real data only; never run by ctest.
#   tests/quality/issue17.sh                  # everything (~40 min on 2 cores)
#   USERS=50 MODELS="tt-ag" tests/quality/issue17.sh
# Genre information in the models comes only from sources that are not the scored labels: the
# 160k companion file's artist genres (--artist-genres) and the 2024 set's artist_genres column;
# every catalog genre column (track_genre, playlist_genre, search_genre) is left out
# (--no-catalog-genres). Environment: BUILD, DATA (../shared/data), USERS (mixed / simulated
# users per type; every playlist is a single-playlist user), SEED, THREADS, MODELS, RECO and BASE
# (method lists), APPEND=1 (add to the results of an earlier run instead of starting afresh).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build/quality}
data=${DATA:-$src/../shared/data}
users=${USERS:-200}
seed=${SEED:-7}
threads=${THREADS:-2}
out=$build/issue17
tt=$data/spotify_songs_tidytuesday_2020.csv.gz
k114=$data/spotify_tracks_114k.csv.gz
genres=$data/spotify160k_v1_data_w_genres.csv.gz
all_catalogs="--catalog $k114 --catalog $tt --catalog $data/spotify_hit_predictor_1960_2019.csv.gz --catalog $data/spotify_genre_search_2024.csv.gz"
models=${MODELS:-union-ag tt-ag tt 114k-ag}
command="tests/quality/issue17.sh${USERS:+ (USERS=$USERS)}${MODELS:+ (MODELS=$MODELS)}"

declare -A model_args=(
  [union-ag]="$all_catalogs --no-catalog-genres --artist-genres $genres"
  [tt-ag]="--catalog $tt --no-catalog-genres --artist-genres $genres"
  [tt]="--catalog $tt --no-catalog-genres --genre-dims 0"
  [114k-ag]="--catalog $k114 --no-catalog-genres --artist-genres $genres"
)
for f in "$tt" "$k114" "$genres"; do
  [ -f "$f" ] || { echo "issue17.sh: $f not found (set DATA)"; exit 1; }
done
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target reco-model reco-evaluate >/dev/null
mkdir -p "$out"

model_of() { # name -> model path, built once per argument set
  local m="$out/$1.model"
  if [ ! -f "$m" ] || [ "$(cat "$m.args" 2>/dev/null)" != "${model_args[$1]}" ]; then
    echo "issue17.sh: building $1" >&2
    # shellcheck disable=SC2086
    "$build/bin/reco-model" build ${model_args[$1]} --out "$m" --seed 1 >"$m.log" 2>&1
    echo "${model_args[$1]}" >"$m.args"
  fi
  echo "$m"
}

reco=${RECO:-reco-default,reco-flat,reco-discover,reco-discover-half,reco-energy-high,reco-energy-low,reco-variety}
base=${BASE:-mean,knn-union,knn-union-3,knn-union-30,random-genre}
results=${RESULTS:-$out/results.tsv}
[ -f "$results" ] && [ -n "${APPEND:-}" ] || printf 'label\tmethod\tusers_type\tusers\tprecision\tfidelity\trecall\tartists\thygiene\tpicks\tms_per_user\trecall_new\tenergy\tenergy_ok\toverlap\n' >"$results"
for name in $models; do
  model=$(model_of "$name")
  case $name in
    114k*) # simulated users of the 114k set, labels its track_genre; and 1,000-track libraries
      echo "issue17.sh: simulated users on $name" >&2
      "$build/bin/reco-evaluate" --model "$model" --catalog "$k114" --methods "$reco,$base" \
        --users "$users" --seed "$seed" --threads "$threads" --label "$name/simulated" --check \
        >>"$results" 2>>"$out/evaluate.log"
      "$build/bin/reco-evaluate" --model "$model" --catalog "$k114" \
        --methods reco-default,reco-variety --users "$users" --seed "$seed" --threads "$threads" \
        --min-library 1000 --label "$name/simulated-1000" --check \
        >>"$results" 2>>"$out/evaluate.log" ;;
    *) # real playlists, labels TidyTuesday's playlist_genre
      echo "issue17.sh: playlists on $name" >&2
      "$build/bin/reco-evaluate" --model "$model" --catalog "$tt" --genre-column playlist_genre \
        --playlists "$tt" --methods "$reco,$base" --users "$users" --seed "$seed" \
        --threads "$threads" --label "$name/playlists" \
        >>"$results" 2>>"$out/evaluate.log" ;;
  esac
done
/usr/bin/python3 "$src/tests/quality/bars17.py" "$results" "$src/tests/quality/RESULTS17.md" \
  "$command"
echo "issue17.sh: wrote tests/quality/RESULTS17.md (raw: $results)" >&2

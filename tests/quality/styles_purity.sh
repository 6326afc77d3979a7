#!/usr/bin/env bash
# The "Named styles" bar of issue 17: models of the 114k catalog clustered on audio features
# alone and with artist genres (the 160k companion file; then also the 2024 set's
# artist_genres), never on track_genre (--no-catalog-genres); for each, the mean over styles of
# the share of a style's songs carrying its most common track_genre (a song carries every
# genre its id is listed under), and the same weighted by style size, over several seeds.
# Prints a markdown table on stdout (and a few style names per model). Never run by ctest.
#   tests/quality/styles_purity.sh
# Environment: BIN (Release reco-model, default build/rel/bin/reco-model), DATA (default
# ../shared/data), OUT (scratch directory, default build/rel/styles), SEEDS (default "1 2 3"),
# K (20), RESTARTS (3), CONFIGS (space-separated label=genre-dims:genre-weight:genre-files, files
# joined by +, "-" for none; default below).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-$src/build/rel/bin/reco-model}
data=${DATA:-$src/../shared/data}
out=${OUT:-$src/build/rel/styles}
seeds=${SEEDS:-1 2 3}
k=${K:-20}
restarts=${RESTARTS:-3}
g160=spotify160k_v1_data_w_genres.csv.gz
g2024=spotify_genre_search_2024.csv.gz
configs=${CONFIGS:-audio-only=0:1:- 160k-genres=8:2:$g160 160k+2024-genres=8:2:$g160+$g2024 \
160k+2024-genres-24d=24:2:$g160+$g2024}
catalog=$data/spotify_tracks_114k.csv.gz
[ -x "$bin" ] || { echo "no $bin: build Release first (cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release)" >&2; exit 2; }
[ -f "$catalog" ] || { echo "no $catalog" >&2; exit 2; }
mkdir -p "$out"

echo "| model (114k catalog, k=$k, --no-catalog-genres) | genre dims | weight | labelled songs | mean style purity | size-weighted purity | seeds |"
echo "|---|---:|---:|---:|---:|---:|---|"
for config in $configs; do
    label=${config%%=*}
    spec=${config#*=}
    dims=${spec%%:*}; rest=${spec#*:}
    weight=${rest%%:*}; files=${rest#*:}
    genre_args=()
    if [ "$files" != "-" ]; then
        IFS=+ read -ra list <<<"$files"
        for f in "${list[@]}"; do genre_args+=(--artist-genres "$data/$f"); done
    fi
    sum_mean=0; sum_weighted=0; n=0; labelled=0
    for seed in $seeds; do
        model=$out/$label.$seed.model
        "$bin" build --catalog "$catalog" --no-catalog-genres "${genre_args[@]}" \
            --genre-dims "$dims" --genre-weight "$weight" --k "$k" --restarts "$restarts" \
            --seed "$seed" --out "$model" --log-level warn >"$out/$label.$seed.build"
        labelled=$(sed -n 's/.*; \([0-9]*\) of \([0-9]*\) songs labelled.*/\1 of \2/p' \
            "$out/$label.$seed.build")
        "$bin" rows "$model" >"$out/$label.$seed.tsv"
        line=$(/usr/bin/python3 "$src/tests/quality/styles_purity.py" "$catalog" "$out/$label.$seed.tsv")
        echo "$label seed=$seed $line" >>"$out/raw.txt"
        mean=$(sed -n 's/.*mean_style_purity=\([0-9.]*\).*/\1/p' <<<"$line")
        weighted=$(sed -n 's/.*weighted_purity=\([0-9.]*\).*/\1/p' <<<"$line")
        sum_mean=$(awk -v a="$sum_mean" -v b="$mean" 'BEGIN { print a + b }')
        sum_weighted=$(awk -v a="$sum_weighted" -v b="$weighted" 'BEGIN { print a + b }')
        n=$((n + 1))
    done
    printf '| %s | %s | %s | %s | %.3f | %.3f | %s |\n' "$label" "$dims" "$weight" \
        "${labelled:-0 of ?}" "$(awk -v a="$sum_mean" -v n="$n" 'BEGIN { print a / n }')" \
        "$(awk -v a="$sum_weighted" -v n="$n" 'BEGIN { print a / n }')" "$seeds"
done
echo
for config in $configs; do
    label=${config%%=*}
    first=${seeds%% *}
    echo "$label (seed $first): $("$bin" info "$out/$label.$first.model" --json |
        /usr/bin/python3 -c 'import json,sys; m=json.load(sys.stdin); print("; ".join("%s (%d)" % (s["name"], s["size"]) for s in m["styles"][:8]))')"
done

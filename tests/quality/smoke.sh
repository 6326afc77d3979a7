#!/usr/bin/env bash
# Smoke test of the quality evaluator (ctest quality_smoke): a synthetic genre-labelled catalog,
# a small model, every method for a few users; --check fails on non-finite metrics, hygiene
# faults, short playlists or recommend() errors. Real data is never touched.
set -euo pipefail
build=${1:?usage: smoke.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/bin/reco-model" synth --rows 4000 --out "$work/catalog.csv" --seed 5 >/dev/null
"$build/bin/reco-model" build --catalog "$work/catalog.csv" --out "$work/model.bin" --k 8 \
    --seed 5 >/dev/null
"$build/bin/reco-evaluate" --model "$work/model.bin" --catalog "$work/catalog.csv" \
    --methods all --users 6 --threads 2 --min-genre-size 20 --label smoke --header --check \
    >"$work/results.tsv"
cat "$work/results.tsv"
# Every method printed a row per user type and one for all users, with users evaluated.
methods=$(awk -F'\t' 'NR > 1 && $3 == "all" && $4 > 0 { n++ } END { print n + 0 }' "$work/results.tsv")
[ "$methods" -eq 22 ] || { echo "smoke: expected 22 methods with users, got $methods"; exit 1; }
# The random catalog floor must score below the genre ceiling: the metrics see the labels.
awk -F'\t' '$3 == "all" && $2 == "random-genre" { c = $5 } $3 == "all" && $2 == "random-catalog" { f = $5 }
    END { if (!(c > f)) { print "smoke: ceiling " c " not above floor " f; exit 1 } }' "$work/results.tsv"
echo "smoke: ok"

#!/usr/bin/env bash
# Checks that a change leaves every playlist byte-identical: builds the models and saved lists
# once with OLD_BUILD's reco-model, asks both builds' reco-service + reco-cli for the whole
# corpus (playlists.sh) and compares the answers file by file. Exit 0 when all are identical.
#   tests/regress/compare.sh OLD_BUILD_DIR NEW_BUILD_DIR [CATALOG.csv.gz]
# e.g. (a build of main in build/main, this tree in build/release, a real catalog as well):
#   tests/regress/compare.sh build/main build/release ../shared/data/spotify_tracks_114k.csv.gz
# REAL_MODEL=FILE answers on a model built elsewhere (the merged catalog), with the saved lists
# still taken from the catalog's rows (see playlists.sh).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: compare.sh OLD_BUILD_DIR NEW_BUILD_DIR [CATALOG.csv.gz]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/playlists-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$here/playlists.sh" models "$1" "$work/models" "${3:-}"
"$here/playlists.sh" answers "$1" "$work/models" "$work/old"
"$here/playlists.sh" answers "$2" "$work/models" "$work/new"
count=$(find "$work/old" -type f -name '*.json' | wc -l)
if diff -r "$work/old" "$work/new" >"$work/diff"; then
    echo "playlists: $count answers byte-identical"
else
    head -c 4000 "$work/diff" >&2
    echo "playlists: answers differ ($(grep -c '^diff\|^Only' "$work/diff") files)" >&2
    exit 1
fi

#!/usr/bin/env bash
# The playlists corpus: every reco-cli --json answer for a fixed set of models, saved lists,
# rankings, variety seeds and steering options, written one file per call, so two builds can be
# compared byte for byte (compare.sh). A refactor must leave every file identical.
# REAL_MODEL=FILE (with a real catalog): answer on that model (e.g. the merged catalog of
# tests/quality/issue17.sh) instead of one built from the catalog, whose rows still give the
# saved lists.
#   playlists.sh models BUILD_DIR MODELS_DIR [REAL_CATALOG.csv.gz]   builds the models and lists
#   playlists.sh answers BUILD_DIR MODELS_DIR OUT_DIR                 runs every call into OUT_DIR
set -euo pipefail

rankings=(default mean centroid neighbours votes votes-artists mean-artists)

# Writes header + every STEP-th data row (from row OFFSET) of a catalog CSV, at most COUNT rows.
catalog_rows() {
    local catalog=$1 step=$2 offset=$3 count=$4
    awk -v step="$step" -v off="$offset" -v count="$count" \
        'NR == 1 { print; next } ((NR - off) % step) == 0 && taken < count { print; taken++ }' \
        "$catalog"
}

# Writes a name,artists CSV (matching by title) from unquoted rows of a catalog CSV.
title_rows() {
    local catalog=$1 count=$2
    awk -F, -v count="$count" '
        NR == 1 {
            for (i = 1; i <= NF; i++) {
                if ($i == "name" || $i == "track_name") name = i
                if ($i == "artists" || $i == "artist" || $i == "track_artist") artists = i
            }
            print "name,artists"
            next
        }
        index($0, "\"") == 0 && NR % 37 == 0 && taken < count {
            print $name "," $artists
            taken++
        }' "$catalog"
}

# Builds the models and the saved lists once (with BUILD_DIR's reco-model), so two builds are
# compared on the same files.
make_models() {
    local bin=$1/bin dir=$2 real=${3:-}
    mkdir -p "$dir"
    "$bin/reco-model" synth --rows 3000 --seed 7 --out "$dir/small.csv" >/dev/null 2>&1
    "$bin/reco-model" build --catalog "$dir/small.csv" --out "$dir/small.model" --k 8 \
        --threads 2 >/dev/null 2>&1
    "$bin/reco-model" synth --rows 40000 --seed 11 --out "$dir/large.csv" >/dev/null 2>&1
    "$bin/reco-model" build --catalog "$dir/large.csv" --out "$dir/large.model" --k 20 \
        --threads 2 >/dev/null 2>&1
    if [ -n "$real" ]; then
        zcat -f "$real" >"$dir/real.csv"
        if [ -n "${REAL_MODEL:-}" ]; then
            cp "$REAL_MODEL" "$dir/real.model"
        else
            "$bin/reco-model" build --catalog "$dir/real.csv" --out "$dir/real.model" \
                --threads 2 >/dev/null 2>&1
        fi
    fi
    for name in small large real; do
        [ -f "$dir/$name.model" ] || continue
        local csv=$dir/$name.csv
        catalog_rows "$csv" 997 5 1 >"$dir/$name.saved1.csv"
        catalog_rows "$csv" 97 3 25 >"$dir/$name.saved25.csv"
        catalog_rows "$csv" 9 1 300 >"$dir/$name.saved300.csv"
        catalog_rows "$csv" 1 0 2000 >"$dir/$name.saved2000.csv"
        title_rows "$csv" 40 >"$dir/$name.titles.csv"
        {
            echo "# ids, URIs and URLs, one unknown"
            sed -n '2p' "$dir/$name.saved25.csv" | grep -o '[0-9A-Za-z]\{22\}' | head -1
            sed -n '3p' "$dir/$name.saved25.csv" | grep -o '[0-9A-Za-z]\{22\}' | head -1 |
                sed 's|^|spotify:track:|'
            sed -n '4p' "$dir/$name.saved25.csv" | grep -o '[0-9A-Za-z]\{22\}' | head -1 |
                sed 's|^|https://open.spotify.com/track/|'
            echo "0000000000000000000000"
        } >"$dir/$name.mixed.txt"
        echo "0000000000000000000000" >"$dir/$name.unknown.txt"
        # A random 1,000-song library, as the speed benchmarks send (tests/quality/speed17.sh).
        if [ -x "$bin/reco-bench" ]; then
            "$bin/reco-bench" sample --model "$dir/$name.model" --count 1000 --seed 4 |
                cut -f1 >"$dir/$name.sample1000.txt"
        fi
    done
}

# Runs one reco-cli call; writes its stdout, and its exit code and stderr when it failed.
answer() {
    local out=$1
    shift
    local rc=0
    "$cli" --endpoint "$addr" recommend "$@" --json >"$out.json" 2>"$out.err" || rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$out.err" ]; then
        rm -f "$out.err"
    else
        echo "exit $rc" >>"$out.err"
    fi
}

run_answers() {
    local bin=$1/bin dir=$2 out=$3
    cli=$bin/reco-cli
    for program in reco-cli reco-service; do
        [ -x "$bin/$program" ] || { echo "playlists.sh: no $bin/$program (build it first)" >&2; exit 1; }
    done
    mkdir -p "$out"
    for name in small large real; do
        [ -f "$dir/$name.model" ] || continue
        local tmp=$out.service # beside the answers, not in a shared /tmp
        rm -rf "$tmp"
        mkdir -p "$tmp"
        : >"$tmp/service.out" # exists before the service starts: the poll below reads it
        "$bin/reco-service" --model "$dir/$name.model" --listen tcp://127.0.0.1:0 --workers 2 \
            >"$tmp/service.out" 2>"$tmp/service.log" &
        local pid=$!
        addr=""
        for _ in $(seq 1 300); do
            # The service's shell may not have opened service.out yet: not an error.
            addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$tmp/service.out" 2>/dev/null |
                head -1 || true)
            [ -n "$addr" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -z "$addr" ]; then
            cat "$tmp/service.log" >&2
            echo "playlists.sh: reco-service did not start on $name.model" >&2
            exit 1
        fi
        for size in 1 25 300 2000; do
            for r in "${rankings[@]}"; do
                answer "$out/$name-saved$size-$r" "$dir/$name.saved$size.csv" --ranking "$r"
            done
        done
        for r in "${rankings[@]}"; do
            answer "$out/$name-saved300-$r-variety" "$dir/$name.saved300.csv" --ranking "$r" \
                --variety 4242
            answer "$out/$name-titles-$r" "$dir/$name.titles.csv" --ranking "$r"
        done
        answer "$out/$name-saved300-n500" "$dir/$name.saved300.csv" -n 500
        answer "$out/$name-saved300-n10-per1" "$dir/$name.saved300.csv" -n 10 \
            --max-per-artist 1
        # Steering (issue 17): discovery, mood targets, years, explicit lyrics, variety, n and
        # the artist cap, alone and together, and with every ranking.
        answer "$out/$name-saved300-discover05" "$dir/$name.saved300.csv" --discover 0.5
        answer "$out/$name-saved300-discover1" "$dir/$name.saved300.csv" --discover 1
        answer "$out/$name-saved300-energy" "$dir/$name.saved300.csv" --energy 0.8 --tempo 125
        answer "$out/$name-saved300-mood" "$dir/$name.saved300.csv" --valence 0.2 \
            --danceability 0.9 -n 40
        answer "$out/$name-saved300-years" "$dir/$name.saved300.csv" --years 1990-2009 \
            --no-explicit
        answer "$out/$name-saved25-years-narrow" "$dir/$name.saved25.csv" --years 1975-1976
        answer "$out/$name-saved2000-steer" "$dir/$name.saved2000.csv" --discover 0.7 \
            --energy 0.8 --tempo 125 --years 1990-2009 --no-explicit -n 30 --max-per-artist 2 \
            --variety 7
        for r in "${rankings[@]}"; do
            answer "$out/$name-saved300-$r-steer" "$dir/$name.saved300.csv" --ranking "$r" \
                --discover 0.4 --energy 0.3 --years 1980- --variety 11 -n 60 --max-per-artist 3
        done
        # The same steering on the default ranking over the larger libraries, the speed
        # benchmarks' random 1,000-song one included (the artist index's paths).
        local steer
        for steer in "--discover 0.5" "--discover 1" "--energy 0.9" "--energy 0.1 --tempo 90" \
            "--valence 0.2 --danceability 0.8" "--years 1990-1999" "--no-explicit" \
            "--years 2000- --no-explicit --discover 0.3" "--variety 7 --discover 0.5" "-n 7"; do
            for list in saved300.csv saved2000.csv sample1000.txt; do
                [ -f "$dir/$name.$list" ] || continue
                # shellcheck disable=SC2086
                answer "$out/$name-${list%.*}-steer$(echo "$steer" | tr -c 'a-z0-9.\n' '_')" \
                    "$dir/$name.$list" $steer
            done
        done
        [ -f "$dir/$name.sample1000.txt" ] &&
            answer "$out/$name-sample1000" "$dir/$name.sample1000.txt"
        answer "$out/$name-mixed" "$dir/$name.mixed.txt"
        answer "$out/$name-unknown" "$dir/$name.unknown.txt"
        kill -TERM "$pid"
        wait "$pid" || true
        rm -rf "$tmp"
    done
}

case "${1:-}" in
    models) make_models "$2" "$3" "${4:-}" ;;
    answers) run_answers "$2" "$3" "$4" ;;
    *)
        echo "usage: playlists.sh models BUILD_DIR MODELS_DIR [CATALOG] |" \
            "answers BUILD_DIR MODELS_DIR OUT_DIR" >&2
        exit 2
        ;;
esac

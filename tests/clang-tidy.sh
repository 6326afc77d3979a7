#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the top) on mixtape's C programs and libraries with the
# compile commands of BUILD_DIR, one file per process, one process per core (two files in one
# process made clang 14's analyzer report va_list false positives); any finding fails (ctest's
# `clang_tidy`). Tests (*_test.c, tests/ but the Spotify emulator) are not checked.
#   tests/clang-tidy.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: clang-tidy.sh BUILD_DIR}" && pwd)
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || { echo "clang-tidy: not installed (deploy/deps.sh test)" >&2; exit 1; }
[ -f "$build/compile_commands.json" ] || { echo "clang-tidy: no $build/compile_commands.json" >&2; exit 1; }
mapfile -t files < <(git ls-files -- 'auth-service/*.c' 'reco-service/*.c' 'proto/*.c' 'common/*.c' \
                     'tests/emulator/*.c' ':!*_test.c')
[ "${#files[@]}" -gt 0 ] || { echo "clang-tidy: no files found" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if printf '%s\n' "${files[@]}" |
    xargs -P "$(nproc)" -n 1 clang-tidy -p "$build" --quiet >"$log" 2>&1; then
    echo "clang-tidy: ${#files[@]} files, no findings"
else
    grep -E 'warning:|error:' "$log" >&2 || cat "$log" >&2
    echo "clang-tidy: findings above (${#files[@]} files checked)" >&2
    exit 1
fi

#!/usr/bin/env bash
# Fails when any tracked or new C file differs from .clang-format (run from ctest);
# with --fix, rewrites them instead (`cmake --build BUILD --target format`).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' 2>/dev/null \
                     || find . -name '*.[ch]' -not -path './build*')
[ "${#files[@]}" -gt 0 ] || { echo "check-format: no C files found"; exit 1; }
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
if [ "${1:-}" = "--fix" ]; then
    clang-format -i "${existing[@]}"
    echo "check-format: ${#existing[@]} files rewritten as .clang-format says"
    exit 0
fi
clang-format --dry-run --Werror "${existing[@]}"
echo "check-format: ${#existing[@]} files formatted as .clang-format says"

#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the optimised configuration the
# run command uses (so warnings only the optimiser sees fail here too), builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer (warnings are errors in both), runs every
# test with ctest against the sanitized build, then builds the libFuzzer targets with clang
# and gives each a few seconds of coverage-guided fuzzing (ctest -L libfuzzer; skipped when
# extra arguments select tests). Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/deps.sh test
release=${MIXTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$release" -j"$(nproc)"
build=${MIXTAPE_TEST_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")
[ $# -eq 0 ] || exit 0
fuzz=${MIXTAPE_FUZZ_BUILD_DIR:-build/fuzz-ci}
CC=clang cmake -S . -B "$fuzz" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON \
  -DMIXTAPE_LIBFUZZER=ON >/dev/null
targets=$(for f in tests/fuzz/*.cmake; do printf '%s_fuzz_libfuzzer ' "$(basename "$f" .cmake)"; done)
cmake --build "$fuzz" -j"$(nproc)" --target $targets
cd "$fuzz"
ctest --output-on-failure -L libfuzzer

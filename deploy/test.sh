#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds three configurations and
# tests each (warnings are errors in all three):
#   build/release  the optimised, hardened build the run command uses: every test but lint;
#   build/asan     AddressSanitizer + UndefinedBehaviorSanitizer: every test, lint included
#                  (clang-format, clang-tidy);
#   build/tsan     ThreadSanitizer: the integration tests (services under concurrent load)
#                  but reco_model_test (see below).
#   build/fuzz-ci  clang + libFuzzer: each coverage-guided fuzz target runs a few seconds
#                  (ctest -L libfuzzer; skipped when extra arguments select tests).
# Extra arguments go to each ctest run (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/deps.sh test
jobs=$(nproc)
release=${MIXTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$release" -j"$jobs"
build=${MIXTAPE_TEST_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$jobs"
tsan=${MIXTAPE_TSAN_BUILD_DIR:-build/tsan}
cmake -S . -B "$tsan" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_TSAN=ON >/dev/null
cmake --build "$tsan" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs" "$@"
ctest --test-dir "$release" --output-on-failure -j"$jobs" -LE lint "$@"
# reco_model_test gives each reco-model run 60 s, which `--k auto` under ThreadSanitizer's
# slowdown can exceed on a busy machine; reco-model's threads still run here in quality_smoke.
ctest --test-dir "$tsan" --output-on-failure -j"$jobs" -L integration -E '^reco_model_test$' "$@"
[ $# -eq 0 ] || exit 0
fuzz=${MIXTAPE_FUZZ_BUILD_DIR:-build/fuzz-ci}
CC=clang cmake -S . -B "$fuzz" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON \
  -DMIXTAPE_LIBFUZZER=ON >/dev/null
targets=$(for f in tests/fuzz/*.cmake; do printf '%s_fuzz_libfuzzer ' "$(basename "$f" .cmake)"; done)
cmake --build "$fuzz" -j"$jobs" --target $targets
ctest --test-dir "$fuzz" --output-on-failure -L libfuzzer

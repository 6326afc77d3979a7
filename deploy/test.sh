#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the optimised configuration the
# run command uses (so warnings only the optimiser sees fail here too), builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer (warnings are errors in both), and runs every
# test with ctest against the sanitized build. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/deps.sh test
release=${MIXTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$release" -j"$(nproc)"
build=${MIXTAPE_TEST_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"

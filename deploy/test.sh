#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything with AddressSanitizer
# and UndefinedBehaviorSanitizer (warnings are errors), and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/deps.sh test
build=${MIXTAPE_TEST_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"

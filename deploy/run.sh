#!/usr/bin/env bash
# The README's run command: installs what is missing, builds (optimised), and starts the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/deps.sh
build=${MIXTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
if [ -x deploy/demo.sh ]; then
  exec bash deploy/demo.sh "$build"
fi
echo "run: built everything in $build; the demo (services and emulator) is not in this version yet."

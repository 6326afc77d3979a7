#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in tests/fuzz with libFuzzer (Debian's clang):
# configures and builds BUILD (default build/fuzz: clang, ASan + UBSan, -DMIXTAPE_LIBFUZZER=ON),
# then runs each target for SECONDS over its corpus in tests/fuzz/corpus, JOBS at a time under
# nice. New inputs go to BUILD/fuzz-work/NAME (never into the repo; --merge folds the new
# coverage into the repo corpus, minimised). Crashes, leaks, timeouts and out-of-memory inputs
# land in BUILD/fuzz-work/NAME-{crash,leak,timeout,oom}-*; an input slower than 60 s is kept as
# NAME-slow-unit-* and replayed once at the end (on a loaded machine a stall makes any input
# slow: the replay time tells).
# Prints one line per target: executions, edges covered (libFuzzer's cov), features, corpus
# size, and the verdict; exits 1 if any target crashed.
#   tests/fuzz/run.sh [--seconds 600] [--jobs 2] [--build DIR] [--merge] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=600 jobs=2 build=build/fuzz merge=0 targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*.cmake; do targets+=("$(basename "$f" .cmake)_fuzz"); done
fi
command -v clang >/dev/null || { echo "run.sh: clang is missing (deploy/deps.sh test installs it)" >&2; exit 2; }
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMIXTAPE_SANITIZE=ON \
  -DMIXTAPE_LIBFUZZER=ON >/dev/null
nice -n 10 cmake --build "$build" -j"$jobs" --target $(printf '%s_libfuzzer ' "${targets[@]}") >/dev/null
work=$build/fuzz-work
mkdir -p "$work"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local t=$1 name=${1%_fuzz}
  mkdir -p "$work/$t"
  # libFuzzer writes new inputs into the first directory only.
  nice -n 10 "$build/bin/${t}_libfuzzer" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=4096 -report_slow_units=60 -print_final_stats=1 -artifact_prefix="$work/$t-" \
    "$work/$t" "tests/fuzz/corpus/$name" >"$work/$t.log" 2>&1 || true
  if [ "$merge" = 1 ]; then
    nice -n 10 "$build/bin/${t}_libfuzzer" -merge=1 "tests/fuzz/corpus/$name" "$work/$t" \
      >>"$work/$t.log" 2>&1 || true
  fi
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
printf '%-22s %8s %12s %8s %8s %7s  %s\n' target seconds executions cov ft corpus verdict
for t in "${targets[@]}"; do
  log=$work/$t.log
  last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov:' | tail -1 || true)
  execs=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$log" | grep -Eo '[0-9]+' || echo 0)
  cov=$(echo "$last" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  ft=$(echo "$last" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  corp=$(echo "$last" | grep -Eo 'corp: [0-9]+' | grep -Eo '[0-9]+' || echo 0)
  verdict=ok
  for slow in "$work/$t-slow-unit-"*; do
    [ -e "$slow" ] || continue
    replay=$("$build/bin/${t}_libfuzzer" "$slow" 2>&1 | grep -Eo 'in [0-9]+ ms' | head -1)
    verdict="$verdict; slow unit replays $replay"
  done
  if grep -qE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log" ||
     ls "$work/$t-"{crash,leak,timeout,oom}-* >/dev/null 2>&1; then
    verdict="CRASH (see $log)"; failed=1
  fi
  printf '%-22s %8s %12s %8s %8s %7s  %s\n' "$t" "$seconds" "$execs" "$cov" "$ft" "$corp" "$verdict"
done
exit $failed

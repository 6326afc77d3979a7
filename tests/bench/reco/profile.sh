#!/usr/bin/env bash
# Where reco-service spends a Recommend call: runs the service under callgrind, sends a few
# requests with reco-bench, and prints the functions under the request handler with their
# instructions per request (inclusive), as `profile ...` lines for report.py.
#   profile.sh BIN_DIR MODEL SAVED_FILE REQUESTS LABEL [RANKING]   (reco.proto number, 0 default)
set -euo pipefail
bin=$1 model=$2 saved=$3 requests=$4 label=$5 ranking=${6:-0}
command -v valgrind >/dev/null || { echo "profile.sh: valgrind not installed, skipped" >&2; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/reco-profile.XXXXXX")
# shellcheck source=service.sh
. "$here/service.sh"
trap 'stop_service; rm -rf "$work"' EXIT
service_ready_seconds=600

# Only what runs inside the service's request handler is counted (not start-up, not nng's loop).
start_service "$model" valgrind --tool=callgrind --toggle-collect=handle_method \
    --callgrind-out-file="$work/cg.out" "$bin/reco-service" || exit 1
"$bin/reco-bench" latency --endpoint "$service_addr" --saved "$saved" --label profile \
    --warmup 0 --ranking "$ranking" \
    --min-requests "$requests" --max-requests "$requests" --seconds 0.1 --timeout-ms 120000 \
    >/dev/null
stop_service
n_saved=$(grep -c . "$saved")
callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
    /usr/bin/python3 -c '
import re, sys
req, label, saved, ranking = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rows, seen = [], set()
for line in sys.stdin:
    m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
    if not m:
        continue
    fn = m.group(2).split(":", 1)[-1]
    if fn.startswith("0x") or "\x27" in fn or fn in seen:
        continue
    seen.add(fn)
    rows.append((int(m.group(1).replace(",", "")), fn))
if not rows:
    sys.exit("profile.sh: callgrind collected nothing (is handle_method still the handler?)")
names = [fn for _, fn in rows]
rows = rows[names.index("handle_method"):] if "handle_method" in names else rows
top = rows[0][0]
rows = rows[:1] + [r for r in rows[1:] if r[0] < top]
for ir, fn in rows[:14]:
    print(f"profile catalog={label} saved={saved} ranking={ranking} fn={fn} "
          f"ir_per_request={ir / req:.0f} "
          f"share={ir / top:.3f}")
' "$requests" "$label" "$n_saved" "$ranking"

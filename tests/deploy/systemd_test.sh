#!/usr/bin/env bash
# ctest deploy_systemd: each unit of deploy/systemd must rate "OK" or better in
# `systemd-analyze security` (offline, from the unit file) and stay at or under the exposure
# measured when it was hardened (1.1), so a loosened sandbox fails here; and
# `systemd-analyze verify` must find nothing to say about either unit.
#   systemd_test.sh SOURCE_DIR
set -euo pipefail
src=$1
limit=11 # tenths: exposure 1.1
if ! command -v systemd-analyze >/dev/null; then
  echo "deploy_systemd: SKIP: systemd-analyze is not installed (deploy/deps.sh test installs systemd)"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixtape-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$src/deploy/systemd/mixtape-auth.service" "$tmp/"
cp "$src/deploy/systemd/mixtape-reco@.service" "$tmp/mixtape-reco@7100.service" # an instance
status=0
for unit in "$tmp/mixtape-auth.service" "$tmp/mixtape-reco@7100.service"; do
  out=$(systemd-analyze security --offline=yes --threshold=$limit "$unit" 2>&1) || status=1
  line=$(echo "$out" | grep 'Overall exposure level')
  echo "deploy_systemd: ${line#→ }"
  case $line in
    *" OK "*|*SAFE*|*PERFECT*) ;;
    *) echo "deploy_systemd: FAIL: $(basename "$unit") is not rated OK or better" >&2; status=1 ;;
  esac
done
# Every directive is one this systemd knows (verify warns of an unknown key but exits 0, so any
# output fails); the programs are stood in for by /bin/true, which verify requires to exist.
mkdir -p "$tmp/verify"
for unit in mixtape-auth.service mixtape-reco@.service; do
  sed 's|/usr/local/bin/[a-z-]*|/bin/true|' "$src/deploy/systemd/$unit" > "$tmp/verify/$unit"
done
out=$(cd "$tmp/verify" && systemd-analyze verify --man=no ./mixtape-auth.service ./mixtape-reco@7100.service 2>&1) || status=1
if [ -n "$out" ]; then
  echo "deploy_systemd: FAIL: systemd-analyze verify: $out" >&2
  status=1
fi
printf '[Service]\nExecStart=/bin/true\nProtectSytem=strict\n' > "$tmp/verify/typo.service"
[ -n "$(cd "$tmp/verify" && systemd-analyze verify --man=no ./typo.service 2>&1)" ] ||
  { echo "deploy_systemd: FAIL: verify did not report a misspelt key" >&2; status=1; }
# The check can fail: the same unit without its sandbox is rated far worse.
grep -v -E '^(Protect|Private|Restrict|SystemCall|Capability|NoNew|Lock|Memory|DynamicUser|UMask)' \
  "$tmp/mixtape-auth.service" > "$tmp/loose.service"
if systemd-analyze security --offline=yes --threshold=$limit "$tmp/loose.service" >/dev/null 2>&1; then
  echo "deploy_systemd: FAIL: an unsandboxed unit passed the threshold" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "deploy_systemd: ok"
exit "$status"

#!/usr/bin/env bash
# Writes deploy/k8s/secrets/ (mode 0700, git-ignored), which kustomization.yaml's
# secretGenerator reads: session-keys holds one fresh random 32-byte key (base64), and
# spotify-client-secret the client secret read from standard input with --client-secret
# (empty otherwise: sign-in uses PKCE and needs none). An existing session-keys file is kept
# unless --rotate, which puts a new key first and keeps the old ones after it (cookies sealed
# with them stay valid; drop them after SESSION_HOURS).
#   deploy/k8s/make-secrets.sh [--rotate] [--client-secret < secret.txt]
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
rotate=0
client_secret=0
for arg in "$@"; do
  case $arg in
    --rotate) rotate=1 ;;
    --client-secret) client_secret=1 ;;
    *) echo "make-secrets: unknown argument '$arg' (--rotate, --client-secret)" >&2; exit 2 ;;
  esac
done
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
keys="$dir/session-keys"
if [ ! -s "$keys" ]; then
  head -c 32 /dev/urandom | base64 > "$keys"
  echo "make-secrets: wrote a new session key to $keys"
elif [ "$rotate" -eq 1 ]; then
  { head -c 32 /dev/urandom | base64; grep -v '^#' "$keys"; } > "$keys.new"
  mv "$keys.new" "$keys"
  echo "make-secrets: new session key first in $keys; $(($(wc -l < "$keys") - 1)) older key(s) kept after it"
else
  echo "make-secrets: kept the session keys in $keys (--rotate adds a new one)"
fi
if [ "$client_secret" -eq 1 ]; then
  IFS= read -r secret || true
  [ -n "$secret" ] || { echo "make-secrets: --client-secret read nothing from standard input" >&2; exit 2; }
  printf '%s' "$secret" > "$dir/spotify-client-secret"
  echo "make-secrets: stored the client secret (not shown)"
elif [ ! -e "$dir/spotify-client-secret" ]; then
  : > "$dir/spotify-client-secret"
fi

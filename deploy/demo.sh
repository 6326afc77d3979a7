#!/usr/bin/env bash
# The demo behind the README's run command (started by deploy/run.sh with the build folder as
# $1): makes a synthetic catalog and its model in .demo/ (once), starts the Spotify emulator
# (tests/emulator), reco-service and auth-service on loopback, prints the address to open, and
# stays in the foreground until Ctrl-C, then stops all three.
#
#   MIXTAPE_PORT=8080          port of the web front (http://127.0.0.1:PORT/)
#   MIXTAPE_CATALOG=FILE       a real catalog CSV (plain or .gz) instead of the synthetic one
#   MIXTAPE_LIBRARY_SIZE=2000  saved tracks of the emulator's demo user
#   SPOTIFY_CLIENT_ID=...      use real Spotify instead of the emulator (see the README)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
bin="$build/bin"
for program in reco-model reco-service auth-service spotify-emu; do
  [ -x "$bin/$program" ] || { echo "demo: $bin/$program is missing; build first (deploy/run.sh)" >&2; exit 1; }
done

port=${MIXTAPE_PORT:-8080}
library_size=${MIXTAPE_LIBRARY_SIZE:-2000}
work=.demo
mkdir -p "$work/logs"

# The catalog and the model, made once.
if [ -n "${MIXTAPE_CATALOG:-}" ]; then
  catalog=$MIXTAPE_CATALOG
  [ -r "$catalog" ] || { echo "demo: MIXTAPE_CATALOG=$catalog cannot be read" >&2; exit 1; }
  name=$(basename "$catalog")
  model="$work/${name%%.*}.mxm"
else
  catalog="$work/catalog.csv"
  model="$work/model.mxm"
  if [ ! -s "$catalog" ]; then
    echo "demo: making a synthetic catalog of 50,000 tracks in $catalog"
    "$bin/reco-model" synth --rows 50000 --out "$catalog.tmp" --seed 1 2>>"$work/logs/reco-model.log"
    mv "$catalog.tmp" "$catalog"
  fi
fi
# (rebuilt too when this build cannot open it: a model file of an older format)
if [ ! -s "$model" ] || [ "$catalog" -nt "$model" ] || ! "$bin/reco-model" info "$model" >/dev/null 2>&1; then
  echo "demo: building the model $model from $catalog (k-means; a minute at most)"
  "$bin/reco-model" build --catalog "$catalog" --out "$model.tmp" 2>>"$work/logs/reco-model.log" >/dev/null
  mv "$model.tmp" "$model"
fi

# Session keys: one random 32-byte key, kept so sign-ins survive a restart of the demo.
keys="$work/session-keys"
if [ ! -s "$keys" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 > "$keys")
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo: stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND...: runs it in the background with stdout in $work/logs/NAME.out and
# stderr in $work/logs/NAME.log, waits for its ready line and sets $ready_addr.
start() {
  local name=$1; shift
  local out="$work/logs/$name.out"
  : > "$out"
  "$@" > "$out" 2> "$work/logs/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    if grep -q '^ready addr=' "$out"; then
      ready_addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$out" | head -n1)
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name stopped during start-up; the end of $work/logs/$name.log:" >&2
      tail -n 5 "$work/logs/$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "demo: $name did not become ready in 30 s (see $work/logs/$name.log)" >&2
  exit 1
}

start reco-service "$bin/reco-service" --model "$model" --listen tcp://127.0.0.1:0
reco=$ready_addr
reco_pid=${pids[-1]}

front_env=(LISTEN="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port"
           RECO_ENDPOINTS="$reco" SESSION_KEYS_FILE="$keys")
if [ -n "${SPOTIFY_CLIENT_ID:-}" ]; then
  mode="real Spotify (client id from SPOTIFY_CLIENT_ID)"
  [ -n "${MIXTAPE_CATALOG:-}" ] || echo "demo: warning: real Spotify with the synthetic catalog; set MIXTAPE_CATALOG to a real one" >&2
  unset SPOTIFY_ACCOUNTS_URL SPOTIFY_API_URL SPOTIFY_OEMBED_URL
else
  client_id=mixtape-demo
  start spotify-emu "$bin/spotify-emu" --listen 127.0.0.1:0 --catalog "$catalog" \
    --client-id "$client_id" --redirect-uri "http://127.0.0.1:$port/callback" \
    --library-size "$library_size"
  emu="http://$ready_addr"
  mode="the Spotify emulator at $emu"
  front_env+=(SPOTIFY_CLIENT_ID="$client_id" SPOTIFY_ACCOUNTS_URL="$emu" SPOTIFY_API_URL="$emu"
             SPOTIFY_OEMBED_URL="$emu")
fi
start auth-service env "${front_env[@]}" "$bin/auth-service"
front=$ready_addr

cat <<TEXT

  mixtape is running against $mode.

  Open $front/ in a browser and sign in$( [ -z "${SPOTIFY_CLIENT_ID:-}" ] && echo ' (the emulator offers "Demo Listener", a library of '"$library_size"' saved tracks)').
  Press Ctrl-C here to stop everything. Logs: $work/logs/

  With real Spotify instead of the emulator:
    1. At https://developer.spotify.com/dashboard create an app (Web API), add the redirect URI
       http://127.0.0.1:$port/callback exactly, and add your account under User Management
       (Development Mode: the owner needs Premium; at most 5 users).
    2. Run again with your client id (the emulator is then not started, and SPOTIFY_ACCOUNTS_URL
       and SPOTIFY_API_URL are left unset so the real services are used):
         SPOTIFY_CLIENT_ID=<your client id> MIXTAPE_CATALOG=/path/to/catalog.csv.gz ./deploy/run.sh
       (a real catalog, because a real library matches nothing in the synthetic one)
  With a real catalog (e.g. a Kaggle CSV with audio features) instead of the synthetic one:
         MIXTAPE_CATALOG=/path/to/catalog.csv.gz ./deploy/run.sh

TEXT

# Stay until Ctrl-C. reco-service stopping (for instance to try the page's "playlists cannot be
# made right now") leaves the other services up; any other service stopping ends the demo.
set +e
live=("${pids[@]}")
while :; do
  gone=""
  wait -n -p gone "${live[@]}"
  status=$?
  if [ "$gone" = "$reco_pid" ]; then
    echo "demo: reco-service stopped (exit $status); the front and the emulator stay up and the" \
         "page says playlists cannot be made. Start it again on the same address with:" >&2
    echo "  $bin/reco-service --model $model --listen $reco" >&2
    next=()
    for pid in "${live[@]}"; do [ "$pid" = "$gone" ] || next+=("$pid"); done
    live=("${next[@]}")
    reco_pid=""
    continue
  fi
  break
done
echo "demo: a service stopped (exit $status); stopping the others. Logs: $work/logs/" >&2
exit 1

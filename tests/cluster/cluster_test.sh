#!/usr/bin/env bash
# ctest cluster (and the cross-host benchmark): mixtape on a network of its own test hosts.
# Network namespaces joined by veth links to a bridge (in a namespace of its own), addresses
# only from 198.18.0.0/15, dnsmasq (its own host) serving the headless name
# reco-headless.cluster.test with an A record per compute host, one front (auth-service), three
# compute hosts (reco-service, each pinned to a core with taskset) and a load client host:
# reco-bench throughput (the RPC client the front uses) and, in the kill9 and roll scenarios,
# users' POST /api/mix through the front (signed in through the Spotify emulator, which runs on
# the front's host), all bounded in time. Each scenario is a function; each measured phase
# appends a line to the results file:
#   phase=NAME hosts=N seconds=S calls=C calls_per_s=R p50_ms=.. p99_ms=.. failures=F note="..."
#
#   cluster_test.sh BUILD_DIR [--results FILE] [--scenarios "LIST"] [--seconds S] [--rows N]
#
#   --scenarios   default "baseline kill9 roll scale" (they pass with today's client); also
#                 "freeze cutlink dns" (issue 16's frozen instance and cut link, issue 14's
#                 discovery through DNS alone), whose bars need the client-health and discovery
#                 work; MIXTAPE_CLUSTER_SCENARIOS sets the same
#   --results     where the phase lines go (default BUILD_DIR/cluster/results.txt)
#   --seconds     length of a steady phase (default 4)
#   --rows        rows of the synthetic catalog behind the model (default 200000)
#
# Needs root and `ip netns` (skips with exit 77 otherwise) and dnsmasq; removes every
# namespace, process and file it made on any exit. Namespace names carry the run's pid and a
# random number, so two runs do not meet.
set -euo pipefail

build=${1:?usage: cluster_test.sh BUILD_DIR [--results FILE] [--scenarios LIST]}
shift
bin="$build/bin"
results="$build/cluster/results.txt"
scenarios=${MIXTAPE_CLUSTER_SCENARIOS:-baseline kill9 roll scale}
steady=4
rows=200000
while [ $# -gt 0 ]; do
  case $1 in
    --results) results=${2:?}; shift 2 ;;
    --scenarios) scenarios=${2:?}; shift 2 ;;
    --seconds) steady=${2:?}; shift 2 ;;
    --rows) rows=${2:?}; shift 2 ;;
    *) echo "cluster: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "cluster: SKIP: needs root (network namespaces)"
  exit 77
fi
probe="mxcprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "cluster: SKIP: ip netns is not available here"
  exit 77
fi
ip netns del "$probe"
for tool in dnsmasq taskset curl; do
  command -v "$tool" >/dev/null || { echo "cluster: $tool is missing; run deploy/deps.sh test" >&2; exit 1; }
done
for program in reco-service reco-cli reco-model reco-bench auth-service spotify-emu; do
  [ -x "$bin/$program" ] || { echo "cluster: $bin/$program is missing; build first" >&2; exit 1; }
done

# Namespaces of an earlier run that was killed before its trap could run (a ctest timeout
# sends SIGKILL): their run's pid is gone, so their hosts and processes go now.
for stale in $(ip netns list | awk '{ print $1 }' | grep -E '^mxc[0-9]+r[0-9]+-' || true); do
  owner=${stale#mxc}
  owner=${owner%%r*}
  if ! kill -0 "$owner" 2>/dev/null; then
    ip netns pids "$stale" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$stale" 2>/dev/null || true
    rm -rf "/etc/netns/$stale"
    echo "cluster: removed $stale, left by a run that was killed"
  fi
done

run="mxc$$r$RANDOM"         # prefix of every namespace of this run
net=198.18.0                # the hosts' /24, inside the benchmarking range 198.18.0.0/15
dns_ip=$net.53
front_ip=$net.10
load_ip=$net.20
headless=reco-headless.cluster.test
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mixtape-cluster.XXXXXX")
mkdir -p "$(dirname "$results")"
: > "$results"
hosts=()        # namespaces made, for cleanup
declare -A pid  # service pid by host name
declare -A ip_of
failures=()
mapfile -t cpus < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done)

cleanup() {
  local status=$? h
  trap - EXIT INT TERM
  for h in "${!pid[@]}"; do
    kill -CONT "${pid[$h]}" 2>/dev/null || true
    kill -KILL "${pid[$h]}" 2>/dev/null || true
  done
  for h in "${!pid[@]}"; do wait "${pid[$h]}" 2>/dev/null || true; done
  for h in "${hosts[@]}"; do
    ip netns pids "$run-$h" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$run-$h" 2>/dev/null || true
    rm -rf "/etc/netns/$run-$h"
  done
  if [ "$status" -ne 0 ] && [ -d "$tmp" ]; then
    for f in "$tmp"/logs/*; do
      [ -s "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 5 "$f" >&2; }
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/logs"

log() { echo "cluster: $*"; }
bar() { # bar CONDITION_TEXT OK(0|1): records a missed bar
  if [ "$2" -ne 1 ]; then failures+=("$1"); echo "cluster: BAR MISSED: $1" >&2; fi
}
# in_host HOST CMD...: CMD on HOST, in the foreground. (In the background, call ip netns exec
# directly: a function there runs in a subshell, and $! would not be the service's pid.)
in_host() { local h=$1; shift; ip netns exec "$run-$h" "$@"; }

# --- the network -----------------------------------------------------------------------------

# add_host NAME ADDRESS: a namespace with eth0 (ADDRESS/24) linked to the bridge as v-NAME.
add_host() {
  local h=$1 addr=$2
  ip netns add "$run-$h"
  hosts+=("$h")
  ip_of[$h]=$addr
  ip -n "$run-br" link add "v-$h" type veth peer name eth0 netns "$run-$h"
  ip -n "$run-br" link set "v-$h" master br0 up
  ip -n "$run-$h" addr add "$addr/24" dev eth0
  ip -n "$run-$h" link set lo up
  ip -n "$run-$h" link set eth0 up
  mkdir -p "/etc/netns/$run-$h"
  echo "nameserver $dns_ip" > "/etc/netns/$run-$h/resolv.conf"
  printf '127.0.0.1 localhost\n' > "/etc/netns/$run-$h/hosts"
}

# link_down HOST / link_up HOST: cut or restore HOST's cable at the bridge.
link_down() { ip -n "$run-br" link set "v-$1" down; }
link_up() { ip -n "$run-br" link set "v-$1" up; }

# dns_set HOST...: the headless name answers with these hosts' addresses from now on.
dns_set() {
  local h
  : > "$tmp/dns-hosts.new"
  for h in "$@"; do echo "${ip_of[$h]} $headless" >> "$tmp/dns-hosts.new"; done
  mv "$tmp/dns-hosts.new" "$tmp/dns-hosts"
  local reads
  reads=$(grep -c 'read .*dns-hosts' "$tmp/logs/dnsmasq.log" || true)
  kill -HUP "${pid[dns]}"
  # Returns once dnsmasq has read the file again (it logs each read).
  for _ in $(seq 1 100); do
    [ "$(grep -c 'read .*dns-hosts' "$tmp/logs/dnsmasq.log" || true)" -gt "$reads" ] && return 0
    sleep 0.05
  done
  echo "cluster: dnsmasq did not re-read its hosts file within 5 s" >&2
  return 1
}

setup_network() {
  ip netns add "$run-br"
  hosts+=(br)
  ip -n "$run-br" link add br0 type bridge
  ip -n "$run-br" link set br0 up
  ip -n "$run-br" link set lo up
  add_host dns "$dns_ip"
  add_host front "$front_ip"
  add_host load "$load_ip"
  : > "$tmp/dns-hosts"
  # --no-daemon: no fork, so $! is dnsmasq itself (SIGHUP re-reads the hosts file).
  ip netns exec "$run-dns" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --addn-hosts="$tmp/dns-hosts" --listen-address="$dns_ip" --bind-interfaces --port=53 \
    --local-ttl=1 --user=root --pid-file= 2> "$tmp/logs/dnsmasq.log" &
  pid[dns]=$!
  for _ in $(seq 1 50); do grep -q 'read .*dns-hosts' "$tmp/logs/dnsmasq.log" && break; sleep 0.1; done
}

# --- the services ----------------------------------------------------------------------------

# Each compute host has its own model file (hosts share no disk); all start on model v1.
compute_core() { echo "${cpus[$(( ($1 - 1) % ${#cpus[@]} ))]}"; }

# compute_start N: reco-service on host cN, pinned to its core; waits for its ready line.
compute_start() {
  local n=$1 h="c$1"
  [ -n "${ip_of[$h]:-}" ] || { add_host "$h" "$net.$((100 + n))"; mkdir -p "$tmp/$h"; cp "$tmp/v1.mxm" "$tmp/$h/model.mxm"; }
  : > "$tmp/logs/$h.out"
  ip netns exec "$run-$h" taskset -c "$(compute_core "$n")" "$bin/reco-service" --model "$tmp/$h/model.mxm" \
    --listen "tcp://${ip_of[$h]}:7100" --log-level warn > "$tmp/logs/$h.out" 2>> "$tmp/logs/$h.log" &
  pid[$h]=$!
  for _ in $(seq 1 200); do
    grep -q '^ready addr=' "$tmp/logs/$h.out" && return 0
    kill -0 "${pid[$h]}" 2>/dev/null || { echo "cluster: reco-service on $h stopped at start" >&2; return 1; }
    sleep 0.05
  done
  echo "cluster: reco-service on $h not ready in 10 s" >&2
  return 1
}

# health HOST: reco-cli health of HOST's service, asked from the load host ("" if no answer).
health() { in_host load "$bin/reco-cli" --endpoint "tcp://${ip_of[$1]}:7100" --timeout-ms 1000 health 2>/dev/null || true; }
served() { health "$1" | sed -n 's/.*requests=\([0-9]*\).*/\1/p'; }
version_of() { health "$1" | sed -n 's/.*model_version=\([0-9a-f]*\).*/\1/p'; }

endpoints() { # endpoints HOST...: the comma-separated list of their RPC URLs
  local h out=""
  for h in "$@"; do out="$out${out:+,}tcp://${ip_of[$h]}:7100"; done
  echo "$out"
}

# load_start NAME SECONDS ENDPOINTS [THREADS]: reco-bench throughput from the load host in the
# background; load_finish NAME HOSTS NOTE waits for it and records the phase.
load_start() {
  local name=$1 seconds=$2 eps=$3 threads=${4:-4}
  ip netns exec "$run-load" env RECO_RESOLVE_INTERVAL="${RECO_RESOLVE_INTERVAL:-2}" \
    "$bin/reco-bench" throughput --endpoint "$eps" --saved "$tmp/saved.tsv" --threads "$threads" \
    --seconds "$seconds" --warmup 5 --timeout-ms 10000 --ranking "${ranking:-0}" --label "$name" \
    > "$tmp/logs/load-$name.out" 2> "$tmp/logs/load-$name.err" &
  load_pid=$!
}
load_finish() {
  local name=$1 nhosts=$2 note=$3 line
  wait "$load_pid" || true
  line=$(grep '^result ' "$tmp/logs/load-$name.out" || true)
  if [ -z "$line" ]; then
    echo "cluster: phase $name: no result ($(tail -n1 "$tmp/logs/load-$name.err"))" >&2
    phase_calls=0 phase_rps=0 phase_p99=0 phase_failures=unknown
    bar "$name: the load client reported a result" 0
    return 0
  fi
  field() { echo "$line" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
  phase_calls=$(field requests) phase_rps=$(field rps) phase_p99=$(field p99_ms)
  phase_failures=$(field errors)
  printf 'phase=%s hosts=%s seconds=%s calls=%s calls_per_s=%s p50_ms=%s p99_ms=%s failures=%s note="%s"\n' \
    "$name" "$nhosts" "$(field seconds)" "$phase_calls" "$phase_rps" "$(field p50_ms)" "$phase_p99" \
    "$phase_failures" "$note" | tee -a "$results"
}
# front_load_start SECONDS [CLIENTS]: users' POST /api/mix through the front from the load
# host, CLIENTS (default 2) curl loops until SECONDS pass; front_load_finish NAME NOTE records
# the phase NAME-front (failures: any answer but 200).
front_load_start() {
  local seconds=$1 clients=${2:-2}
  local deadline=$(( $(date +%s%N) / 1000000 + ${seconds%.*} * 1000 ))
  front_pids=()
  : > "$tmp/front-calls"
  for _ in $(seq 1 "$clients"); do
    ip netns exec "$run-load" bash -c '
      while [ $(( $(date +%s%N) / 1000000 )) -lt "$1" ]; do
        curl -s -w "%{http_code} %{time_total}\n" --max-time 15 \
          -H "Content-Type: application/json" -H "Cookie: mixtape_session=$2" -d "{}" \
          -o /dev/null "$3" -o /dev/null "$3" -o /dev/null "$3" -o /dev/null "$3" -o /dev/null "$3" || true
      done' front-load "$deadline" "$session" "http://$front_ip:8080/api/mix" \
      >> "$tmp/front-calls" 2>/dev/null &
    front_pids+=($!)
  done
  front_started=$(date +%s.%N)
}
front_load_finish() {
  local name=$1 note=$2 p
  for p in "${front_pids[@]}"; do wait "$p" || true; done
  local took
  took=$(awk -v t0="$front_started" -v t="$(date +%s.%N)" 'BEGIN { printf "%.2f", t - t0 }')
  read -r front_calls front_failures front_p50 front_p99 < <(
    awk '{ n++; if ($1 != "200") f++; print $2 * 1000 > "/dev/stderr" } END { print n + 0, f + 0 }' \
      "$tmp/front-calls" 2> "$tmp/front-times" | tr '\n' ' '
    sort -g "$tmp/front-times" | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "0 0"; exit }
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
      printf "%.2f %.2f\n", v[i50], v[i99] }')
  printf 'phase=%s-front hosts=3 seconds=%s calls=%s calls_per_s=%s p50_ms=%s p99_ms=%s failures=%s note="%s"\n' \
    "$name" "$took" "$front_calls" "$(awk -v n="$front_calls" -v t="$took" 'BEGIN { printf "%.1f", n / t }')" \
    "$front_p50" "$front_p99" "$front_failures" "users' POST /api/mix through the front; $note" | tee -a "$results"
  bar "$name: zero failed user requests through the front (got $front_failures of $front_calls)" \
    "$([ "$front_failures" = 0 ] && [ "$front_calls" -gt 0 ] && echo 1 || echo 0)"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# --- scenarios (each one a function; a later one may add to the list) ------------------------

scenario_baseline() {
  load_start baseline "$steady" "$(endpoints c1 c2 c3)"
  load_finish baseline 3 "steady load, 3 compute hosts"
  baseline_rps=$phase_rps
  bar "baseline: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
}

# kill -9 one compute service under load, restart it; the restarted one must serve again.
scenario_kill9() {
  load_start kill9 8 "$(endpoints c1 c2 c3)"
  front_load_start 8
  sleep 2
  kill -KILL "${pid[c2]}"
  wait "${pid[c2]}" 2>/dev/null || true
  local killed_at=$SECONDS
  sleep 2
  compute_start 2
  log "c2 killed with SIGKILL and restarted after $((SECONDS - killed_at)) s"
  load_finish kill9 3 "kill -9 of c2 at 2 s, restarted at 4 s"
  front_load_finish kill9 "kill -9 of c2 at 2 s, restarted at 4 s"
  bar "kill9: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
  bar "kill9: p99 under 2000 ms (got $phase_p99)" "$(lt "$phase_p99" 2000 && echo 1 || echo 0)"
  local n
  n=$(served c2)
  # One of those requests is this Health call itself.
  bar "kill9: the restarted c2 served calls again (served ${n:-none})" "$([ "${n:-0}" -gt 1 ] && echo 1 || echo 0)"
}

# A new model across the hosts one by one: moved in place atomically, SIGHUP, wait for it.
scenario_roll() {
  local v2 h start
  v2=$("$bin/reco-model" info "$tmp/v2.mxm" | sed -n 's/^version *\([0-9a-f]*\).*/\1/p')
  load_start roll 10 "$(endpoints c1 c2 c3)"
  front_load_start 10
  sleep 1
  for h in c1 c2 c3; do
    cp "$tmp/v2.mxm" "$tmp/$h/model.mxm.tmp"
    mv -f "$tmp/$h/model.mxm.tmp" "$tmp/$h/model.mxm"
    kill -HUP "${pid[$h]}"
    start=$SECONDS
    until [ "$(version_of "$h")" = "$v2" ]; do
      [ $((SECONDS - start)) -lt 10 ] || { bar "roll: $h took the new model within 10 s" 0; break; }
      sleep 0.1
    done
    sleep 1
  done
  load_finish roll 3 "model v2 moved in place and SIGHUP, host by host, 1 s apart"
  front_load_finish roll "model v2 rolled host by host"
  bar "roll: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
  for h in c1 c2 c3; do
    bar "roll: $h serves model $v2" "$([ "$(version_of "$h")" = "$v2" ] && echo 1 || echo 0)"
  done
}

# Throughput with 1, 2 and 3 compute hosts; host N is pinned to core (N-1) mod cores, so on a
# machine of fewer cores than hosts the last hosts share one. Compute-heavy requests (the
# mean-cosine ranking over the whole catalog) so the compute hosts, not the client, are the limit.
# MIXTAPE_CLUSTER_SCALE_ROUNDS (default 1) repeats the 1-2-3 sequence, interleaved, so a busy
# machine's drift shows as spread instead of as a trend.
scenario_scale() {
  local n round list map
  for round in $(seq 1 "${MIXTAPE_CLUSTER_SCALE_ROUNDS:-1}"); do
    list=() map=""
    for n in 1 2 3; do
      list+=("c$n")
      map="$map${map:+ }c$n:cpu$(compute_core "$n")"
      ranking=1 load_start "scale$n" "$steady" "$(endpoints "${list[@]}")" 8
      ranking=1 load_finish "scale$n" "$n" "round $round, mean-cosine ranking, 8 client threads, pinned $map, ${#cpus[@]} cores in all"
      bar "scale$n: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
    done
  done
}

# Issue 16: one instance frozen (SIGSTOP) for 10 s under load. Bars: calls/s at least 60% of
# the baseline, zero failures. Needs the client's per-endpoint health.
scenario_freeze() {
  load_start freeze 14 "$(endpoints c1 c2 c3)"
  sleep 2
  kill -STOP "${pid[c2]}"
  sleep 10
  kill -CONT "${pid[c2]}"
  load_finish freeze 3 "c2 stopped (SIGSTOP) from 2 s to 12 s"
  bar "freeze: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
  bar "freeze: calls/s at least 60% of the baseline ($phase_rps vs ${baseline_rps:-?})" \
    "$(lt "$(awk -v b="${baseline_rps:-0}" 'BEGIN { print 0.6 * b }')" "$phase_rps" && echo 1 || echo 0)"
}

# Issue 16: one host's link cut for 15 s under load, then restored. Same bars as freeze.
scenario_cutlink() {
  load_start cutlink 19 "$(endpoints c1 c2 c3)"
  sleep 2
  link_down c2
  sleep 15
  link_up c2
  load_finish cutlink 3 "c2's link down from 2 s to 17 s"
  bar "cutlink: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
  bar "cutlink: calls/s at least 60% of the baseline ($phase_rps vs ${baseline_rps:-?})" \
    "$(lt "$(awk -v b="${baseline_rps:-0}" 'BEGIN { print 0.6 * b }')" "$phase_rps" && echo 1 || echo 0)"
}

# Issue 14: the client knows only the headless name; two hosts are added and one removed
# through DNS alone. Bars: zero failures; an added host serves within RECO_RESOLVE_INTERVAL + 1 s;
# a removed one gets no new calls after that.
scenario_dns() {
  local interval=${RECO_RESOLVE_INTERVAL:-2} h t0 before waited polls n
  compute_start 4
  compute_start 5
  dns_set c1 c2 c3
  load_start dns 16 "tcp://$headless:7100"
  sleep 3
  before=$(served c4)
  dns_set c1 c2 c3 c4 c5
  t0=$(date +%s.%N)
  polls=1
  until [ "$(( $(served c4) - before - polls ))" -gt 0 ]; do
    polls=$((polls + 1))
    waited=$(awk -v t0="$t0" -v t="$(date +%s.%N)" 'BEGIN { print t - t0 }')
    lt "$waited" $((interval + 3)) || break
    sleep 0.1
  done
  waited=$(awk -v t0="$t0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.2f", t - t0 }')
  bar "dns: c4 served within $((interval + 1)) s of its A record (took $waited s)" \
    "$(lt "$waited" $((interval + 1)) && echo 1 || echo 0)"
  sleep 2
  dns_set c2 c3 c4 c5
  sleep $((interval + 1))
  before=$(served c1)
  sleep 3
  n=$(( $(served c1) - before - 1 ))
  bar "dns: c1 got no calls after leaving DNS ($n)" "$([ "$n" -le 0 ] && echo 1 || echo 0)"
  load_finish dns "3-5" "name only; c4 and c5 added at 3 s, c1 removed at ~6 s, resolve interval $interval s"
  bar "dns: zero failed calls (got $phase_failures)" "$([ "$phase_failures" = 0 ] && echo 1 || echo 0)"
}

# --- the run ---------------------------------------------------------------------------------

started=$SECONDS
echo "fact run=$run cores=${#cpus[@]} rows=$rows build=$build commit=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown) loadavg_before=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >> "$results"
log "run $run: namespaces $run-*, ${#cpus[@]} cores (${cpus[*]}), scenarios: $scenarios"
"$bin/reco-model" synth --rows "$rows" --seed 11 --out "$tmp/catalog.csv" 2>> "$tmp/logs/model.log"
"$bin/reco-model" build --catalog "$tmp/catalog.csv" --out "$tmp/v1.mxm" --k 12 --restarts 1 --seed 1 \
  >/dev/null 2>> "$tmp/logs/model.log"
"$bin/reco-model" build --catalog "$tmp/catalog.csv" --out "$tmp/v2.mxm" --k 12 --restarts 1 --seed 2 \
  >/dev/null 2>> "$tmp/logs/model.log"
"$bin/reco-bench" sample --model "$tmp/v1.mxm" --count 200 --seed 3 > "$tmp/saved.tsv"
setup_network
for n in 1 2 3; do compute_start "$n"; done
dns_set c1 c2 c3
# Every host resolves the headless name through dnsmasq and reaches every compute host.
answer=$(in_host load getent ahostsv4 "$headless" | awk '$2 == "STREAM" { print $1 }' | sort | tr '\n' ' ')
[ "$answer" = "$net.101 $net.102 $net.103 " ] || { echo "cluster: DNS answered '$answer' for $headless" >&2; exit 1; }
# The front, with the Spotify emulator beside it on its loopback (as a real front reaches
# Spotify on the internet). Its RECO_ENDPOINTS lists the compute hosts (FRONT_ENDPOINTS=name
# gives it the headless name instead, which needs the live-discovery client to survive a kill).
: > "$tmp/logs/front.out"
: > "$tmp/logs/emu.out"
ip netns exec "$run-front" "$bin/spotify-emu" --listen 127.0.0.1:0 --catalog "$tmp/catalog.csv" \
  --client-id cluster-test --redirect-uri http://127.0.0.1:8080/callback --library-size 200 \
  > "$tmp/logs/emu.out" 2> "$tmp/logs/emu.log" &
pid[emu]=$!
for _ in $(seq 1 300); do grep -q '^ready addr=' "$tmp/logs/emu.out" && break; sleep 0.1; done
emu="http://$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$tmp/logs/emu.out")"
[ "$emu" != "http://" ] || { echo "cluster: spotify-emu did not start" >&2; exit 1; }
front_endpoints=$(endpoints c1 c2 c3)
[ "${FRONT_ENDPOINTS:-}" = name ] && front_endpoints="tcp://$headless:7100"
ip netns exec "$run-front" env SPOTIFY_CLIENT_ID=cluster-test SESSION_KEYS="$(head -c 32 /dev/urandom | base64)" \
  LISTEN=0.0.0.0:8080 PUBLIC_URL=http://127.0.0.1:8080 RECO_ENDPOINTS="$front_endpoints" \
  SPOTIFY_ACCOUNTS_URL="$emu" SPOTIFY_API_URL="$emu" RECO_RESOLVE_INTERVAL=2 \
  "$bin/auth-service" > "$tmp/logs/front.out" 2> "$tmp/logs/front.log" &
pid[front]=$!
for _ in $(seq 1 100); do grep -q '^ready addr=' "$tmp/logs/front.out" && break; sleep 0.1; done
front_ready() { in_host load curl -fsS --max-time 3 "http://$front_ip:8080/readyz" 2>&1 || true; }
ready=$(front_ready)
echo "$ready" | grep -q '"ready":true' || { echo "cluster: the front is not ready: $ready" >&2; exit 1; }
# A user signs in as a browser would (on the front's host, where the redirect URI's
# 127.0.0.1:8080 is the front): /login, the emulator's consent form, /callback.
jar="$tmp/cookies"
authorize=$(in_host front curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' http://127.0.0.1:8080/login)
in_host front curl -s -c "$jar" -b "$jar" "$authorize" > "$tmp/consent.html"
form=(--data-urlencode user=demo --data-urlencode decision=approve)
while IFS= read -r field; do
  form+=(--data-urlencode "$field")
done < <(sed -n 's/.*<input type="hidden" name="\([^"]*\)" value="\([^"]*\)">.*/\1=\2/p' "$tmp/consent.html" |
         sed 's/&amp;/\&/g; s/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g')
callback=$(in_host front curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "${form[@]}" "$emu/authorize")
in_host front curl -s -c "$jar" -b "$jar" -o /dev/null "$callback"
session=$(awk '$6 == "mixtape_session" { print $7 }' "$jar")
[ -n "$session" ] || { echo "cluster: sign-in through the front failed (callback: $callback)" >&2; exit 1; }
code=$(in_host load curl -s -o "$tmp/mix.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -H "Cookie: mixtape_session=$session" -d '{}' "http://$front_ip:8080/api/mix")
[ "$code" = 200 ] && grep -q '"tracks":\[{' "$tmp/mix.json" ||
  { echo "cluster: POST /api/mix answered $code: $(head -c 300 "$tmp/mix.json")" >&2; exit 1; }
log "network up in $((SECONDS - started)) s: front $front_ip ready, compute $net.101-103, dns $dns_ip"

for s in $scenarios; do
  declare -F "scenario_$s" >/dev/null || { echo "cluster: no scenario '$s'" >&2; exit 2; }
  log "scenario $s"
  "scenario_$s"
done

ready=$(front_ready)
bar "the front is still ready at the end ($ready)" "$(echo "$ready" | grep -q '"ready":true' && echo 1 || echo 0)"
echo "fact loadavg_after=\"$(cut -d' ' -f1-3 /proc/loadavg)\" seconds=$((SECONDS - started))" >> "$results"
log "results in $results; $((SECONDS - started)) s in all"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "cluster: ${#failures[@]} bar(s) missed:" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
log "ok"

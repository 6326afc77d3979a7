# shellcheck shell=bash
# The reco-service a benchmark measures, started and stopped: sourced by run.sh, server.sh,
# latency_ab.sh, profile.sh and profile_cli.sh (`. "$here/service.sh"`), after they set $work,
# the directory that gets service.out and service.log. Sourcing it sets an EXIT trap that stops
# the service (a script that also removes $work sets its own trap calling stop_service).

service_pid=""
service_addr=""

# stop_service: ends the service start_service started (TERM, then waits for it); nothing when
# none runs. Leaves service_pid empty.
stop_service() {
    if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
        kill -TERM "$service_pid"
        wait "$service_pid" || true
    fi
    service_pid=""
}
trap stop_service EXIT

# start_service MODEL COMMAND [ARGS...]: runs COMMAND ARGS (reco-service, or a wrapper such as
# taskset in front of it) on MODEL at a free loopback port in the background, its stdout in
# $work/service.out and its stderr appended to $work/service.log; waits up to 60 s for its
# `ready addr=` line (service_ready_seconds, 60 unless the caller sets it: a service under
# valgrind takes longer). Sets service_pid and service_addr; returns 1 (with the log's tail on
# stderr) when the service exits or stays silent.
start_service() {
    local model=$1 out=${work:?start_service: set work first}/service.out
    shift
    : >"$out"
    "$@" --model "$model" --listen tcp://127.0.0.1:0 >"$out" 2>>"$work/service.log" &
    service_pid=$!
    for _ in $(seq 1 $((${service_ready_seconds:-60} * 10))); do
        if grep -q '^ready addr=' "$out"; then
            # shellcheck disable=SC2034 # read by the scripts that source this file
            service_addr=$(sed -n 's/^ready addr=\([^ ]*\).*/\1/p' "$out" | head -1)
            return 0
        fi
        kill -0 "$service_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "${0##*/}: reco-service did not become ready; its log:" >&2
    tail -20 "$work/service.log" >&2
    return 1
}

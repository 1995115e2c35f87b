#!/usr/bin/env bash
# Benchmarks the status view: a release 'ferry serve' over a state database with 10,000 desired files on two
# endpoints (20,000 placements), loaded by wrk on 127.0.0.1. Prints requests/s and p99 latency per route.
#
#   bash bench/status-view.sh                     # builds the release 'ferry' first
#   FERRY=path/to/ferry FILES=10000 DURATION=10s bash bench/status-view.sh
set -euo pipefail
cd "$(dirname "$0")/.."

files="${FILES:-10000}"
duration="${DURATION:-10s}"

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ -z "${FERRY:-}" ]; then
    swift build -c release --product ferry
    FERRY="$(swift build -c release --show-bin-path)/ferry"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The ferry binary creates the database (with its migrations); the generator fills it.
"$FERRY" demo --state "$work/state.sqlite" --no-color >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
python3 bench/fill_state.py "$work/state.sqlite" --files "$files"
load="$(cut -d' ' -f1-3 /proc/loadavg)"

start_server() {
    "$FERRY" serve --listen 127.0.0.1:0 --state "$work/state.sqlite" "$@" >"$work/serve.log" 2>&1 &
    server_pid=$!
    port=""
    for _ in $(seq 1 200); do
        port="$(sed -n 's#^Status view on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$work/serve.log")"
        [ -n "$port" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "ferry serve exited" >&2; exit 1; }
        sleep 0.05
    done
    cat "$work/serve.log"
    echo "ferry serve did not start" >&2
    exit 1
}

stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# The default (answers reused while the database is unchanged, at most 1 s), then every answer recomputed.
for mode in cached uncached; do
    if [ "$mode" = cached ]; then start_server; else start_server --cache-seconds 0; fi
    echo "== $mode$([ "$mode" = uncached ] && echo " (ferry serve --cache-seconds 0)")"
    for path in "/v1/files" "/v1/files?limit=100" "/"; do
        bytes="$(curl -fsS "http://127.0.0.1:$port$path" | wc -c)"
        wrk -t2 -c16 -d"$duration" --latency "http://127.0.0.1:$port$path" >"$work/wrk.txt"
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")"
        p99="$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")"
        errors="$(grep -E 'Non-2xx|Socket errors' "$work/wrk.txt" | tr '\n' ' ' || true)"
        printf '%-22s %10s req/s   p99 %9s   %8s bytes/answer  %s\n' "$path" "$rps" "$p99" "$bytes" "$errors"
    done
    stop_server
done
echo "($files files x 2 endpoints; wrk -t2 -c16 -d$duration --latency; $(nproc) cores; load before: $load)"

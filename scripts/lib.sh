# Shell helpers shared by bench/*.sh and scripts/*.sh (source it; it defines functions and sets nothing else).
#
#   ferry_workdir NAME             a fresh /tmp/NAME.XXXXXX in $work, removed on exit with every tracked process
#   ferry_track PID                stop PID (SIGTERM, then wait) on exit
#   ferry_stop PID                 stop one tracked process now
#   ferry_binary CONFIG PRODUCT    echo a path to PRODUCT built in CONFIG (debug|release); builds it first
#   ferry_private_copy PATH        copy a binary into $work (a concurrent build may replace the original) and echo it
#   ferry_start_simulator ARGS...  `$FERRY simulator` on a free 127.0.0.1 port: sets $sim_pid, $sim_port, $sim_base
#   ferry_start_serve ARGS...      `$FERRY serve --listen 127.0.0.1:0`: sets $serve_pid, $serve_port
#   ferry_results_dir              makes $BENCH_RESULTS absolute (and creates it) when it is set

work=""
ferry_pids=()

ferry_cleanup() {
    local pid
    for pid in "${ferry_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    ferry_pids=()
    if [ -n "$work" ]; then rm -rf "$work"; fi
}

ferry_workdir() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    trap ferry_cleanup EXIT
}

ferry_track() { ferry_pids+=("$1"); }

ferry_stop() {
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}

ferry_binary() {
    local config=$1 product=$2 log
    log=$(mktemp)
    if ! swift build -c "$config" --product "$product" >"$log" 2>&1; then
        grep -v -e distributed-tracing -e CMakeLists "$log" | tail -n 30 >&2
        rm -f "$log"
        echo "swift build -c $config --product $product failed" >&2
        return 1
    fi
    rm -f "$log"
    echo "$(swift build -c "$config" --show-bin-path)/$product"
}

ferry_private_copy() {
    cp "$1" "$work/$(basename "$1")"
    echo "$work/$(basename "$1")"
}

ferry_results_dir() {
    if [ -n "${BENCH_RESULTS:-}" ]; then
        mkdir -p "$BENCH_RESULTS"
        BENCH_RESULTS=$(cd "$BENCH_RESULTS" && pwd)
        export BENCH_RESULTS
    fi
}

ferry_start_simulator() {
    local attempt
    sim_port=$((20000 + RANDOM % 20000))
    sim_base="http://127.0.0.1:$sim_port"
    "$FERRY" simulator --port "$sim_port" "$@" >"$work/sim.log" 2>&1 &
    sim_pid=$!
    ferry_track "$sim_pid"
    for attempt in $(seq 1 100); do
        curl -sf "$sim_base/_sim/health" >/dev/null 2>&1 && return 0
        kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; echo "simulator exited" >&2; exit 1; }
        sleep 0.1
    done
    cat "$work/sim.log" >&2
    echo "simulator did not answer on $sim_base" >&2
    exit 1
}

ferry_start_serve() {
    local attempt
    "$FERRY" serve --listen 127.0.0.1:0 "$@" >"$work/serve.log" 2>&1 &
    serve_pid=$!
    ferry_track "$serve_pid"
    serve_port=""
    for attempt in $(seq 1 200); do
        serve_port=$(sed -n 's#^Status view on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$work/serve.log")
        [ -n "$serve_port" ] && return 0
        kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; echo "ferry serve exited" >&2; exit 1; }
        sleep 0.05
    done
    cat "$work/serve.log" >&2
    echo "ferry serve did not start" >&2
    exit 1
}

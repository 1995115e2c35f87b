# Shell helpers shared by bench/*.sh and scripts/*.sh (source it; it defines functions and sets nothing else).
#
#   ferry_workdir NAME             a fresh /tmp/NAME.XXXXXX in $work, removed on exit with every tracked process
#   ferry_track PID                stop PID (SIGTERM, then wait) on exit
#   ferry_stop PID                 stop one tracked process now (and forget it)
#   ferry_untrack PID...           forget PIDs that have been waited for (their numbers may be reused)
#   ferry_run CMD...               run CMD as a tracked child and wait for it (its status is returned): a script
#                                  stopped meanwhile (SIGTERM, SIGINT) stops CMD too instead of leaving it running
#   ferry_binary CONFIG PRODUCT    echo a path to PRODUCT built in CONFIG (debug|release); builds it first
#   ferry_private_copy PATH        copy a binary into $work (a concurrent build may replace the original) and echo it
#   ferry_start_simulator ARGS...  `$FERRY simulator` on a free 127.0.0.1 port: sets $sim_pid, $sim_port, $sim_base
#   ferry_start_serve ARGS...      `$FERRY serve --listen 127.0.0.1:0`: sets $serve_pid, $serve_port
#   ferry_valgrind_prepare         valgrind (installed when missing), and what running $FERRY under it takes (below):
#                                  sets $valgrind_ferry (a copy without debug info) and $valgrind_shim (for LD_PRELOAD)
#   ferry_results_dir              makes $BENCH_RESULTS absolute (and creates it) when it is set
#   ferry_three_endpoint_repo DIR FILES BASE
#                                  DIR: FILES small text sources under docs/ declared by one FileSet for an OpenAI,
#                                  an Azure OpenAI and a Vertex AI model on the simulator at BASE (bucket ferry-bench)
#   ferry_bench_bucket BASE        create the Cloud Storage bucket ferry-bench on the simulator at BASE
#   ferry_refresh_configs DIR BASE  DIR/refresh-{openai,azure,gcs}.curl: one GET per remote file DIR/state.sqlite owns
#                                  (a Terraform-style per-resource refresh), as curl config files
#   ferry_refresh_run DIR CONCURRENCY TAG
#                                  run that refresh (CONCURRENCY in flight per endpoint, persistent connections, curl
#                                  --parallel): answers in DIR/refresh-KIND-TAG.codes, wall seconds in
#                                  DIR/refresh-TAG.seconds

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
    # Without these, bash killed while in `wait` may exit without running the EXIT trap.
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

ferry_track() { ferry_pids+=("$1"); }

ferry_untrack() {
    local pid gone kept=()
    for pid in "${ferry_pids[@]}"; do
        for gone in "$@"; do [ "$pid" = "$gone" ] && continue 2; done
        kept+=("$pid")
    done
    ferry_pids=("${kept[@]}")
}

ferry_run() {
    local pid status=0
    "$@" &
    pid=$!
    ferry_track "$pid"
    wait "$pid" || status=$?
    ferry_untrack "$pid"
    return "$status"
}

ferry_stop() {
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
    ferry_untrack "$1"
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

# Prints the port a process started in the background printed to LOG (the sed PATTERN's one group), once it has;
# fails when the process PID exits first or nothing comes within SECONDS (5th argument, default 10).
ferry_printed_port() {
    local log=$1 pattern=$2 pid=$3 name=$4 seconds=${5:-10} port attempt
    for attempt in $(seq 1 $((seconds * 20))); do
        port=$(sed -n "s#$pattern#\1#p" "$log")
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$name exited" >&2; return 1; }
        sleep 0.05
    done
    cat "$log" >&2
    echo "$name did not start" >&2
    return 1
}

ferry_start_simulator() {
    # Port 0: the simulator binds a free port and prints it (a port picked here at random could be in use, e.g. by
    # one of the ephemeral ports of wrk's or curl's connections).
    "$FERRY" simulator --port 0 "$@" >"$work/sim.log" 2>&1 &
    sim_pid=$!
    ferry_track "$sim_pid"
    sim_port=$(ferry_printed_port "$work/sim.log" '^Simulator listening on http://127\.0\.0\.1:\([0-9]*\) .*' \
        "$sim_pid" simulator) || exit 1
    sim_base="http://127.0.0.1:$sim_port"
    curl -sf "$sim_base/_sim/health" >/dev/null || { cat "$work/sim.log" >&2; echo "simulator did not answer" >&2; exit 1; }
}

ferry_start_serve() {
    "$FERRY" serve --listen 127.0.0.1:0 "$@" >"$work/serve.log" 2>&1 &
    serve_pid=$!
    ferry_track "$serve_pid"
    serve_port=$(ferry_printed_port "$work/serve.log" '^Status view on http://127\.0\.0\.1:\([0-9]*\)/.*' \
        "$serve_pid" "ferry serve") || exit 1
}

ferry_valgrind_prepare() {
    # Two workarounds make valgrind 3.19 run Ferry:
    # - the binary is copied without debug info (valgrind gives up on the Swift toolchain's DWARF);
    # - a preloaded shim copies the signal mask `sigsuspend` receives: libdispatch parks the main thread of an async
    #   Swift program in sigsuspend with a mask in read-only memory, which valgrind's wrapper writes to and crashes.
    command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
    valgrind_ferry=$work/ferry-valgrind
    valgrind_shim=$work/valgrind-shim.so
    [ -x "$valgrind_ferry" ] || strip --strip-debug "$FERRY" -o "$valgrind_ferry"
    [ -f "$valgrind_shim" ] && return 0
    cat > "$work/valgrind-shim.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)8);
}
C
    cc -shared -fPIC -O2 -o "$valgrind_shim" "$work/valgrind-shim.c"
}

ferry_three_endpoint_repo() {
    # The models' api_base: the simulator at BASE, or the 4th and 5th arguments for OpenAI and Azure OpenAI (e.g.
    # os.environ/NAME references, for one repository used with several simulators).
    local repo=$1 files=$2 base=$3 openai_base=${4:-$3/v1} azure_base=${5:-$3}
    # FILES small text sources (100 folders, 200 B – 4 KiB), the same on every run (seeded).
    python3 - "$repo" "$files" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
random.seed(6)
for i in range(count):
    folder = os.path.join(root, "docs", f"d{i % 100:03d}")
    os.makedirs(folder, exist_ok=True)
    size = random.randint(200, 4096)
    line = f"document {i}: the quick brown fox jumps over the lazy dog\n"
    with open(os.path.join(folder, f"doc{i:05d}.txt"), "w") as f:
        f.write((line * (size // len(line) + 1))[:size])
PY
    cat > "$repo/models.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-bench, api_base: "$openai_base"}
  - model_name: azure-gpt-4o
    litellm_params: {model: azure/gpt-4o, api_key: bench, api_base: "$azure_base", api_version: "2024-10-21"}
  - model_name: gemini
    litellm_params: {model: vertex_ai/gemini-2.0-flash, gcs_bucket_name: ferry-bench}
YAML
    cat > "$repo/files.yaml" <<YAML
kind: FileSet
metadata: {name: kb}
spec:
  sources: "docs/**/*.txt"
  purpose: assistants
  targetModels: [gpt-4o-mini, azure-gpt-4o, gemini]
YAML
}

ferry_bench_bucket() {
    curl -sf -X POST "$1/storage/v1/b?project=bench" -H 'Content-Type: application/json' \
        -d '{"name":"ferry-bench"}' > /dev/null
}

ferry_refresh_configs() {
    local dir=$1 base=$2 kind
    python3 - "$base" "$dir/state.sqlite" <<'PY' > "$dir/refresh.list"
import sqlite3, sys, urllib.parse
base = sys.argv[1]
db = sqlite3.connect(sys.argv[2])
for endpoint, remote in db.execute("SELECT endpoint_id, remote_id FROM owned_files ORDER BY endpoint_id, remote_id"):
    kind = endpoint.split("|")[0]
    if kind == "openai":
        print(f"openai\t{base}/v1/files/{remote}")
    elif kind == "azure":
        print(f"azure\t{base}/openai/files/{remote}?api-version=2024-10-21")
    else:
        bucket, name = remote[len("gs://"):].split("/", 1)
        print(f"gcs\t{base}/storage/v1/b/{bucket}/o/{urllib.parse.quote(name, safe='')}")
PY
    for kind in openai azure gcs; do
        python3 - "$kind" "$dir/refresh.list" <<'PY' > "$dir/refresh-$kind.curl"
import sys
kind, path = sys.argv[1], sys.argv[2]
if kind == "openai": print('header = "Authorization: Bearer sk-bench"')
if kind == "azure": print('header = "api-key: bench"')
for line in open(path):
    k, url = line.rstrip("\n").split("\t", 1)
    if k == kind:
        print(f'url = "{url}"\noutput = "/dev/null"\nwrite-out = "%{{http_code}}\\n"')
PY
    done
}

ferry_refresh_run() {
    local dir=$1 concurrency=$2 tag=$3 kind pid t0 t1 pids=()
    t0=$(date +%s.%N)
    for kind in openai azure gcs; do
        curl -s --no-progress-meter --parallel --parallel-max "$concurrency" -K "$dir/refresh-$kind.curl" \
            > "$dir/refresh-$kind-$tag.codes" 2> "$dir/refresh-$kind-$tag.err" &
        pids+=($!)
        ferry_track "$!"
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    t1=$(date +%s.%N)
    ferry_untrack "${pids[@]}"
    python3 -c "print($t1 - $t0)" > "$dir/refresh-$tag.seconds"
}

#!/usr/bin/env bash
# Benchmarks the status view: a release 'ferry serve' over a state database with 10,000 desired files on two
# endpoints (20,000 placements), loaded by wrk on 127.0.0.1. Prints requests/s, p99 latency and the server's CPU time
# per answer by route, then the instructions of a recomputed page of 100 under callgrind (repeatable).
#
#   bash bench/status-view.sh                     # builds the release 'ferry' first
#   FERRY=path/to/ferry FILES=10000 DURATION=10s bash bench/status-view.sh
#   BENCH_RESULTS=dir bash bench/status-view.sh   # also writes dir/status-view.json (read by bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

files="${FILES:-10000}"
duration="${DURATION:-10s}"

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
. scripts/lib.sh
FERRY=${FERRY:-$(ferry_binary release ferry)}
ferry_workdir ferry-bench-status

# The ferry binary creates the database (with its migrations); the generator fills it.
"$FERRY" demo --state "$work/state.sqlite" --no-color >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
python3 bench/fill_state.py "$work/state.sqlite" --files "$files"
load="$(cut -d' ' -f1-3 /proc/loadavg)"

# The resolution API (what Ferry's LiteLLM callback asks): 2,000 distinct unified ids, each with its endpoint's
# provider and api_base, cycled through by every wrk connection (a generated wrk Lua script).
python3 - "$work/state.sqlite" "$work/resolve.lua" <<'PY'
import sqlite3, sys, urllib.parse
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT d.unified_id, p.endpoint_id FROM placements p JOIN desired_files d ON d.name = p.file "
    "WHERE p.state = 'in-sync' ORDER BY d.unified_id, p.endpoint_id LIMIT 2000").fetchall()
paths = []
for unified_id, endpoint_id in rows:
    kind, base = endpoint_id.split("|")[:2]
    paths.append(f"/api/v1/resolve/{unified_id}?provider={kind}&api_base={urllib.parse.quote(base, safe='')}")
with open(sys.argv[2], "w") as lua:
    lua.write("local paths = {\n" + "".join(f'  "{path}",\n' for path in paths) + "}\n")
    lua.write("local i = 0\nrequest = function()\n  i = i % #paths + 1\n"
              "  return wrk.format(\"GET\", paths[i])\nend\n")
print(f"resolution paths: {len(paths)}", file=sys.stderr)
PY

# The default (answers reused while the database is unchanged, at most 1 s), then every answer recomputed.
for mode in cached uncached; do
    if [ "$mode" = cached ]; then ferry_start_serve --state "$work/state.sqlite"; else ferry_start_serve --state "$work/state.sqlite" --cache-seconds 0; fi
    port=$serve_port
    echo "== $mode$([ "$mode" = uncached ] && echo " (ferry serve --cache-seconds 0)")"
    for path in "/v1/files" "/v1/files?limit=100" "/api/v1/placements?limit=100" "/" "/api/v1/resolve/{id}"; do
        if [ "$path" = "/api/v1/resolve/{id}" ]; then
            first="$(sed -n '2s/^  "\(.*\)",$/\1/p' "$work/resolve.lua")"
            curl -fsS "http://127.0.0.1:$port$first" | grep -q '"provider_file_id"' || { echo "resolution failed: $first" >&2; exit 1; }
            bytes="$(curl -fsS "http://127.0.0.1:$port$first" | wc -c)"
            wrk -t2 -c16 -d"$duration" --latency -s "$work/resolve.lua" "http://127.0.0.1:$port" >"$work/wrk.txt"
        else
            bytes="$(curl -fsS "http://127.0.0.1:$port$path" | wc -c)"
            ticks_before=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
            wrk -t2 -c16 -d"$duration" --latency "http://127.0.0.1:$port$path" >"$work/wrk.txt"
            ticks_after=$(awk '{print $14 + $15}' "/proc/$serve_pid/stat")
        fi
        # The server's CPU time (user + system) per answer over the wrk run.
        answers="$(awk '/requests in/ {print $1}' "$work/wrk.txt")"
        cpu_ms=""
        if [ "$path" != "/api/v1/resolve/{id}" ] && [ "${answers:-0}" -gt 0 ]; then
            cpu_ms=$(python3 -c "print(round(($ticks_after - $ticks_before) * 1000 / $(getconf CLK_TCK) / $answers, 3))")
        fi
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")"
        p99="$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")"
        errors="$(grep -E 'Non-2xx|Socket errors' "$work/wrk.txt" | tr '\n' ' ' || true)"
        printf '%-30s %10s req/s   p99 %9s   %8s bytes/answer  %s ms CPU/answer %s\n' "$path" "$rps" "$p99" "$bytes" \
            "${cpu_ms:--}" "$errors"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$path" "$rps" "$p99" "$bytes" "$errors" "$cpu_ms" >>"$work/results.tsv"
    done
    ferry_stop "$serve_pid"
done

# Instructions per recomputed page under callgrind: repeatable where wall time and CPU time are not on a shared
# machine. 20 pages to warm up, then the counters are zeroed, 200 pages asked one after another, and dumped.
echo "== instructions per recomputed page (callgrind, 200 pages each)"
ferry_valgrind_prepare
LD_PRELOAD=$valgrind_shim valgrind --tool=callgrind --callgrind-out-file="$work/serve.callgrind" \
    "$valgrind_ferry" serve --listen 127.0.0.1:0 --state "$work/state.sqlite" --cache-seconds 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
ferry_track "$serve_pid"
# Under valgrind, starting takes seconds: a minute is allowed.
port=$(ferry_printed_port "$work/serve.log" '^Status view on http://127\.0\.0\.1:\([0-9]*\)/.*' "$serve_pid" \
    "ferry serve under valgrind" 60) || exit 1
dump=0
for path in "/v1/files?limit=100" "/api/v1/placements?limit=100"; do
    for attempt in $(seq 1 20); do curl -fsS -o /dev/null "http://127.0.0.1:$port$path"; done
    callgrind_control -z "$serve_pid" >/dev/null 2>&1
    for attempt in $(seq 1 200); do printf 'url = "http://127.0.0.1:%s%s"\noutput = /dev/null\n' "$port" "$path"; done >"$work/urls"
    curl -fsS -K "$work/urls"
    callgrind_control -d "$serve_pid" >/dev/null 2>&1
    dump=$((dump + 1))
    total=$(callgrind_annotate "$work/serve.callgrind.$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    printf '%-30s %s instructions a page\n' "$path" "$((total / 200))"
    printf 'instructions\t%s\t\t\t\t\t%s\n' "$path" "$((total / 200))" >>"$work/results.tsv"
done
ferry_stop "$serve_pid"
echo "($files files x 2 endpoints; wrk -t2 -c16 -d$duration --latency; $(nproc) cores; load before: $load)"
if [ -n "${BENCH_RESULTS:-}" ]; then
    mkdir -p "$BENCH_RESULTS"
    python3 - "$work/results.tsv" "$BENCH_RESULTS/status-view.json" "$files" "$duration" "$load" "$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)" <<'PY'
import json, re, sys
tsv, out, files, duration, load, wrk = sys.argv[1:]
rows = []
for line in open(tsv):
    mode, path, rps, p99, size, errors, cpu = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
    if mode == "instructions":
        rows.append({"metric": f"GET {path}, instructions per recomputed page (callgrind, 200 pages)",
                     "ferry": f"{int(cpu) / 1e6:.2f} M", "alternative": None, "ratio": None, "target": None,
                     "met": None})
        continue
    label = "cached (default)" if mode == "cached" else "recomputed (--cache-seconds 0)"
    figure = f"{float(rps):,.0f} req/s, p99 {p99}"
    if cpu and mode != "cached":
        figure += f", {float(cpu):.2f} ms CPU an answer"
    timeouts = re.search(r"timeout (\d+)", errors)
    if timeouts and int(timeouts.group(1)) > 0:
        figure += f" ({timeouts.group(1)} requests over wrk's 2 s timeout, not in the p99)"
    elif errors.strip():
        figure += f" ({errors.strip()})"
    target, met = None, None
    value, unit = re.match(r"([0-9.]+)(us|ms|s)", p99).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if path.startswith("/api/v1/resolve"):
        # The resolution API's target (issue "One id across providers"): p99 under 5 ms at 10k files.
        target, met = "p99 < 5 ms", p99_ms < 5
        label += ", 2,000 distinct ids"
    elif "limit=100" in path:
        # Issue 14: a page of 100 from an indexed query, p99 under 10 ms at 10k files (wrk -t2 -c16).
        target, met = "p99 < 10 ms", p99_ms < 10
    rows.append({"metric": f"GET {path}, {label} ({int(size):,} bytes an answer)", "ferry": figure,
                 "alternative": None, "ratio": None, "target": target, "met": met})
json.dump({
    "scenario": "status-view", "title": f"6. Status view with {int(files):,} files",
    "command": "bash bench/status-view.sh", "rows": rows,
    "notes": [
        f"`ferry serve` (release) over a state database filled by bench/fill_state.py: {int(files):,} desired files on "
        f"two endpoints ({2 * int(files):,} placements), loaded by {wrk} -t2 -c16 -d{duration} --latency on 127.0.0.1; "
        f"load average before: {load}.",
        "`/v1/files` is the OpenAI-compatible list (default limit, every unified file); `/` is the HTML dashboard. "
        "Cached: answers reused while the database is unchanged (at most 1 s); recomputed: every request reads SQLite "
        "and renders again.",
        "`/api/v1/resolve/{id}` is the resolution API Ferry's LiteLLM callback asks (docs/litellm.md): each request "
        "names one of 2,000 unified ids with its endpoint's provider and api_base (wrk runs a Lua script to vary the "
        "path, which costs it more CPU than a fixed URL); cached: answers kept until the database changes; "
        "recomputed: each answer from the in-memory index rebuilt once per snapshot.",
        "Targets: the resolution API's (p99 < 5 ms) and issue 14's for pages of 100 (p99 < 10 ms). wrk and the "
        "server share the same 2 cores, so the p99 moves with whatever else runs; CPU an answer is the server's user "
        "+ system time over the wrk run divided by its answers, and the instructions per recomputed page (callgrind, "
        "200 pages after 20 to warm up) are the figure that repeats from run to run.",
    ],
}, open(out, "w"), indent=2, ensure_ascii=False)
PY
fi

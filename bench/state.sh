#!/usr/bin/env bash
# Scenario 7 — the state backends: the converged pass of scenario 1 (10,000 files × 3 endpoints, everything in
# place) with the state in SQLite and in PostgreSQL, in the same run and interleaved (target: PostgreSQL within
# 1.5× of SQLite), and the time two `reconcile --interval --listen` replicas on one PostgreSQL state take to finish
# the work after the replica holding the lease is SIGKILLed mid-apply.
# PostgreSQL is a private server started here (scripts/postgres.sh; Debian's postgresql is installed when missing).
#
#   bash bench/state.sh
#   FERRY=.build/release/ferry FILES=10000 RUNS=5 BENCH_RESULTS=out/ bash bench/state.sh
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-10000}
runs=${RUNS:-5}
. scripts/lib.sh
. scripts/postgres.sh
ferry_results_dir
FERRY=${FERRY:-$(ferry_binary release ferry)}
ferry_workdir ferry-bench-state
FERRY=$(ferry_private_copy "$FERRY")
ferry_postgres_start
# Both helpers want the EXIT trap: stop the server and every tracked process.
trap 'ferry_cleanup; ferry_postgres_stop' EXIT
pg=$FERRY_TEST_POSTGRES_URL

# One simulator per backend, so each state starts from its own empty provider and owns the same 30,000 files.
declare -A base
for backend in sqlite postgres; do
    ferry_start_simulator --gcs-auth anonymous --content discard
    base[$backend]=$sim_base
    ferry_bench_bucket "$sim_base"
done

# One repository for both backends: its models read the simulator's address from BENCH_OPENAI_BASE and BENCH_BASE.
mkdir -p "$work/repo"
ferry_three_endpoint_repo "$work/repo" "$files" "" os.environ/BENCH_OPENAI_BASE os.environ/BENCH_BASE
cd "$work"
state_of() { if [ "$1" = sqlite ]; then echo "--state state.sqlite"; else echo "--state $pg --workspace bench"; fi; }
ferry() {
    local backend=$1
    shift
    # shellcheck disable=SC2046
    BENCH_BASE=${base[$backend]} BENCH_OPENAI_BASE=${base[$backend]}/v1 STORAGE_EMULATOR_HOST=${base[$backend]} \
        "$FERRY" "$@" --manifests repo $(state_of "$backend") --no-color
}
now() { date +%s.%N; }

declare -A setup
for backend in sqlite postgres; do
    echo "setup ($backend): ferry apply of $files files x 3 endpoints ..." >&2
    t0=$(now)
    ferry "$backend" apply --auto-approve --max-deletes 0 > "apply-$backend.out" 2> "apply-$backend.err" \
        || { tail -n 20 "apply-$backend.err"; exit 1; }
    setup[$backend]=$(python3 -c "print(f'{$(now) - $t0:.1f}')")
    ferry "$backend" plan --detailed-exitcode > "plan-$backend.out" 2>&1 \
        || { tail -n 20 "plan-$backend.out"; echo "not converged after apply ($backend)" >&2; exit 1; }
done

# Converged passes, interleaved so both backends see the same machine load; each a fresh process, as cron runs it.
for i in $(seq 1 "$runs"); do
    for backend in sqlite postgres; do
        t0=$(now)
        ferry "$backend" reconcile > "reconcile-$backend-$i.out" 2> "reconcile-$backend-$i.err" \
            || { cat "reconcile-$backend-$i.err"; exit 1; }
        python3 -c "print($(now) - $t0)" > "reconcile-$backend-$i.seconds"
    done
done
ferry postgres reconcile -o json > pg-json.json 2> /dev/null
ferry sqlite reconcile -o json > sqlite-json.json 2> /dev/null

# Takeover: 200 files on a simulator answering every request after 100 ms, two replicas on one PostgreSQL workspace.
ferry_start_simulator --gcs-auth anonymous --content discard
slow=$sim_base
curl -sf -X PUT "$slow/_sim/faults" -d '{"latencyMilliseconds": 100}' > /dev/null
mkdir -p repo-takeover
for i in $(seq 1 200); do printf 'takeover document %d\n' "$i" > "repo-takeover/t$i.txt"; done
cat > repo-takeover/models.yaml <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-bench, api_base: "$slow/v1"}
YAML
cat > repo-takeover/files.yaml <<YAML
kind: FileSet
metadata: {name: t}
spec: {sources: "*.txt", purpose: assistants, targetModels: [gpt-4o-mini]}
YAML
replica_pids=()
for r in 1 2; do
    "$FERRY" reconcile --interval 1s --listen 127.0.0.1:0 --manifests repo-takeover --state "$pg" \
        --workspace takeover --no-color > "replica-$r.out" 2> "replica-$r.err" &
    replica_pids+=($!)
    ferry_track $!
done
python3 - "$slow" "${replica_pids[@]}" > takeover.json <<'PY'
import json, os, re, signal, sys, time, urllib.request
slow, pids = sys.argv[1], [int(p) for p in sys.argv[2:]]
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r: return json.loads(r.read())
    except urllib.error.HTTPError as e: return json.loads(e.read())
def views():
    out = {}
    deadline = time.time() + 60
    while len(out) < 2 and time.time() < deadline:
        for r, pid in enumerate(pids, 1):
            m = re.search(r"Status view on (http://127\.0\.0\.1:\d+)/", open(f"replica-{r}.err").read())
            if m: out[pid] = m.group(1)
        time.sleep(0.05)
    return out
urls = views()
deadline = time.time() + 120
victim = None
while victim is None and time.time() < deadline:
    for pid, url in urls.items():
        w = get(url + "/readyz").get("writer")
        if w and w.get("thisProcess"): victim = pid
    time.sleep(0.02)
survivor = [p for p in pids if p != victim][0]
os.kill(victim, signal.SIGKILL)
killed = time.time()
# The survivor holds the lease (it has taken over), then its status view reports all 200 placements in sync.
leased = done = None
while done is None and time.time() < killed + 120:
    if leased is None:
        w = get(urls[survivor] + "/readyz").get("writer")
        if w and w.get("thisProcess"): leased = time.time()
    s = get(urls[survivor] + "/api/v1/summary")
    if s.get("placements", {}).get("in-sync") == 200: done = time.time()
    time.sleep(0.02)
print(json.dumps({"leaseSeconds": (leased - killed) if leased else None,
                  "takeoverSeconds": (done - killed) if done else None, "summary": s}))
PY
listed=$(curl -sf "$slow/v1/files?limit=10000" -H 'Authorization: Bearer sk-bench' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')

python3 - "$files" "$runs" "${setup[sqlite]}" "${setup[postgres]}" "$listed" <<'PY'
import json, os, statistics, sys
files, runs, setup_sqlite, setup_pg, listed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
def secs(backend): return [float(open(f"reconcile-{backend}-{i}.seconds").read()) for i in range(1, runs + 1)]
lite, pg = secs("sqlite"), secs("postgres")
ratio = statistics.median(pg) / statistics.median(lite)
take = json.load(open("takeover.json"))
t = take["takeoverSeconds"]
phases = {b: {k: round(v, 2) for k, v in sorted(json.load(open(f"{b}-json.json"))["stats"]["seconds"].items())} for b in ("sqlite", "pg")}
rows = [
    {"metric": f"converged `ferry reconcile`, state in SQLite (median of {runs})", "ferry": f"{statistics.median(lite):.2f} s",
     "alternative": None, "ratio": None, "target": None, "met": None},
    {"metric": f"converged `ferry reconcile`, state in PostgreSQL (median of {runs})", "ferry": f"{statistics.median(pg):.2f} s",
     "alternative": f"SQLite {statistics.median(lite):.2f} s", "ratio": f"{ratio:.2f}× SQLite", "target": "≤ 1.5× SQLite",
     "met": ratio <= 1.5},
    {"metric": "replica takeover: leader SIGKILLed mid-apply → the other replica holds the lease (PostgreSQL)",
     "ferry": f"{take['leaseSeconds']:.2f} s" if take["leaseSeconds"] is not None else "not seen", "alternative": None,
     "ratio": None, "target": "< lease TTL (30 s)", "met": take["leaseSeconds"] is not None and take["leaseSeconds"] < 30},
    {"metric": "  … and its status view reports all 200 placements in sync",
     "ferry": f"{t:.2f} s" if t is not None else "did not finish", "alternative": None, "ratio": None,
     "target": None, "met": t is not None},
    {"metric": "files on the provider after the takeover (200 declared)", "ferry": str(listed), "alternative": None,
     "ratio": None, "target": "200 (no duplicate)", "met": listed == 200},
]
notes = [
    f"{files:,} files × 3 endpoints on the bundled simulator (one simulator per backend, `--content discard`), put in place "
    f"by `ferry apply` (SQLite {setup_sqlite} s, PostgreSQL {setup_pg} s for {files * 3:,} uploads), then {runs} converged "
    "`ferry reconcile` runs per backend, interleaved, each a fresh process.",
    "PostgreSQL 15 (Debian) on 127.0.0.1 in a private data directory (fsync off, as in the tests); Ferry talks to it over TCP "
    "with SCRAM authentication.",
    f"Phases of one `-o json` pass (stats.seconds): SQLite {json.dumps(phases['sqlite'])}; PostgreSQL {json.dumps(phases['pg'])}.",
    "Runs (s): SQLite " + " ".join(f"{x:.2f}" for x in lite) + "; PostgreSQL " + " ".join(f"{x:.2f}" for x in pg) + ".",
    "Takeover: two `reconcile --interval 1s --listen` replicas, one workspace, a simulator answering every request after 100 ms; "
    "the replica whose /readyz says it holds the writer lease is SIGKILLed; the time is until the survivor's status view "
    "reports all 200 placements in sync. A dead holder on the same host is noticed at once (its pid is gone); on another "
    "host the lease's 30 s TTL bounds the wait.",
    f"Machine: {os.cpu_count()} cores shared with other builds; load average {open('/proc/loadavg').read().split()[0:3]} at the end.",
]
print(f"\nScenario 7: state backends, {files:,} files × 3 endpoints; replica takeover\n")
w = max(len(r["metric"]) for r in rows)
for r in rows:
    met = "" if r["met"] is None else (" ✓" if r["met"] else " ✗ MISSED")
    print(f"{r['metric']:<{w}}  {r['ferry']:<18}  {r['alternative'] or '':<16}  {r['ratio'] or '':<14}  {r['target'] or ''}{met}")
for n in notes: print("-", n)
out = os.environ.get("BENCH_RESULTS")
if out:
    with open(os.path.join(out, "state.json"), "w") as f:
        json.dump({"scenario": "state", "title": f"State backends: converged pass on SQLite and PostgreSQL; replica takeover",
                   "command": "bash bench/state.sh", "rows": rows, "notes": notes}, f, indent=2, ensure_ascii=False)
        f.write("\n")
PY

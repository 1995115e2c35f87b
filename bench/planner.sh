#!/usr/bin/env bash
# Scenario 2 — the planner at scale: 100,000 placements (25,000 files × 4 endpoints) against 100,000 listed files,
# in memory (no network, no disk): 95 % converged, 2 % new, 2 % changed, pruned, adopted and foreign files.
# Runs the real `Planner.plan` RUNS times (release build) and reports the median and minimum wall time, CPU time
# and the process's peak resident memory (getrusage), with what the planner added over its input.
#
#   bash bench/planner.sh
#   FERRY_BENCH=.build/release/ferry-bench RUNS=9 BENCH_RESULTS=out/ bash bench/planner.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
placements=${PLACEMENTS:-100000}
. scripts/lib.sh
ferry_results_dir
FERRY_BENCH=${FERRY_BENCH:-$(ferry_binary release ferry-bench)}
ferry_workdir ferry-bench-planner
FERRY_BENCH=$(ferry_private_copy "$FERRY_BENCH")
"$FERRY_BENCH" planner --placements "$placements" --runs "$runs" --json > "$work/planner.json"
python3 - "$work/planner.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
mib = lambda b: b / 2**20
actions = ", ".join(f"{k} {v:,}" for k, v in sorted(r["actions"].items()))
rows = [
    {"metric": f"plan wall time, {r['placements']:,} placements × {r['listed']:,} listed files (median of {r['runs']}; min)",
     "ferry": f"{r['medianSeconds']:.2f} s (min {r['minSeconds']:.2f} s)", "alternative": None, "ratio": None,
     "target": "< 1 s", "met": r["medianSeconds"] < 1.0},
    {"metric": "plan CPU time, all threads (median)", "ferry": f"{r['medianCPUSeconds']:.2f} s", "alternative": None,
     "ratio": None, "target": None, "met": None},
    {"metric": "peak RSS of the process (input + plan)", "ferry": f"{mib(r['peakRSSBytes']):.0f} MiB", "alternative": None,
     "ratio": None, "target": "< 300 MB", "met": r["peakRSSBytes"] < 300e6},
    {"metric": "RSS added by planning (peak − input built)", "ferry": f"{mib(r['planAllocatedRSSBytes']):.0f} MiB",
     "alternative": None, "ratio": None, "target": None, "met": None},
    {"metric": "plan produced", "ferry": f"{actions}; {r['placementsInSync']:,} in sync; {r['unmanaged']:,} unmanaged",
     "alternative": None, "ratio": None, "target": None, "met": None},
]
notes = [
    f"`ferry-bench planner` (Sources/ferry-bench): {r['placements']:,} placements (25,000 files × 4 endpoints: OpenAI, an "
    f"OpenAI-compatible proxy, Azure OpenAI, Vertex AI), {r['listed']:,} listed files, {r['owned']:,} owned; built in memory "
    f"({r['buildInputSeconds']:.1f} s, not timed), then the real `Planner.plan` {r['runs']} times.",
    f"Memory: baseline {mib(r['baselineRSSBytes']):.0f} MiB, with the input built {mib(r['inputRSSBytes']):.0f} MiB, peak "
    f"{mib(r['peakRSSBytes']):.0f} MiB (ru_maxrss).",
    "Runs (s): " + " ".join(f"{x:.3f}" for x in r["seconds"]) + "; CPU (s): " + " ".join(f"{x:.3f}" for x in r["cpuSeconds"]) + ".",
    f"Endpoints are planned in parallel ({r['threads']} cores here, shared with other builds; load average "
    f"{open('/proc/loadavg').read().split()[0:3]}): with the machine busy, wall time exceeds CPU time per core.",
]
print(f"\nScenario 2: planner, {r['placements']:,} placements\n")
w = max(len(x["metric"]) for x in rows)
for x in rows:
    met = "" if x["met"] is None else (" ✓" if x["met"] else " ✗ MISSED")
    print(f"{x['metric']:<{w}}  {x['ferry']:<30}  {x['target'] or ''}{met}")
for n in notes: print("-", n)
out = os.environ.get("BENCH_RESULTS")
if out:
    with open(os.path.join(out, "planner.json"), "w") as f:
        json.dump({"scenario": "planner", "title": f"Planner, {r['placements']:,} placements × {r['listed']:,} observed files",
                   "command": "bash bench/planner.sh", "rows": rows, "notes": notes}, f, indent=2, ensure_ascii=False)
        f.write("\n")
PY

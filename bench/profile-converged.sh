#!/usr/bin/env bash
# Instruction counts of one converged pass, per part, with valgrind's callgrind: repeatable on a noisy machine where
# wall time is not (no hardware counters here, so `perf stat -e instructions` is not available).
# Sets up FILES desired files (default 10,000) on 3 endpoints (OpenAI, Azure OpenAI, Vertex AI on the bundled
# simulator), applies them, then runs one `ferry reconcile` under callgrind and prints the instructions of the whole
# pass and of its parts (inclusive counts of the functions that do each part; async code is attributed where its
# synchronous callees run, so the parts do not add up to the total).
#
#   bash bench/profile-converged.sh                     # release build, 10,000 files
#   FERRY=.build/release/ferry FILES=1000 bash bench/profile-converged.sh
#   KEEP=1 bash bench/profile-converged.sh              # also copies callgrind.out here for callgrind_annotate
#
# valgrind runs Ferry with two workarounds (scripts/lib.sh, ferry_valgrind_prepare).
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-10000}
. scripts/lib.sh
ferry_results_dir
FERRY=${FERRY:-$(ferry_binary release ferry)}
ferry_workdir ferry-profile
ferry_valgrind_prepare

ferry_start_simulator --gcs-auth anonymous
base=$sim_base
ferry_bench_bucket "$base"
ferry_three_endpoint_repo "$work/repo" "$files" "$base"
export STORAGE_EMULATOR_HOST=$base FERRY_REVISION=profile
cd "$work"
ferry() { "$FERRY" "$@" --manifests repo --state state.sqlite --no-color; }
echo "setup: ferry apply of $files files x 3 endpoints ..." >&2
ferry apply --auto-approve --max-deletes 0 > apply.out 2>&1 || { tail -n 20 apply.out; exit 1; }
ferry reconcile > warm.out 2>&1 || { tail -n 20 warm.out; exit 1; }

echo "profiling one converged ferry reconcile under callgrind ..." >&2
LD_PRELOAD=$valgrind_shim valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    "$valgrind_ferry" reconcile --manifests repo --state state.sqlite --no-color > profiled.out 2> valgrind.err \
    || { tail -n 30 valgrind.err; exit 1; }
grep -q "No changes" valgrind.err || { tail -n 20 valgrind.err; echo "the profiled pass was not converged" >&2; exit 1; }
callgrind_annotate --inclusive=yes "$work/callgrind.out" 2>/dev/null | swift demangle --simplified > annotated.txt
python3 - annotated.txt "$files" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read().splitlines()
total = next(int(l.split()[0].replace(",", "")) for l in text if "PROGRAM TOTALS" in l)
rows = []
for line in text:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.*) \[[^\]]*\]$", line)
    if m: rows.append((int(m.group(1).replace(",", "")), m.group(2)))
def inclusive(pattern):
    hits = [n for n, name in rows if re.search(pattern, name)]
    return max(hits) if hits else 0
parts = [
    ("manifests: load and validate", [r"^(specialized )?static Engine\.validate\(_:offline:\)$"]),
    ("list pages: decode (OpenAI/Azure + Cloud Storage)", [r"^(specialized )?OpenAIFileList\.init\((pulling|from):\)$", r"^(specialized )?GCSObjectList\.init\((pulling|from):\)$"]),
    ("listings: store (recordObservation)", [r"StateStore\.recordObservation\(_:endpoint:pages:\) in conformance SQLiteStateStore$"]),
    ("state reads (owned files, intents, digest cache)", [r"^DatabasePool\.read<A>\(_:\)$"]),
    ("planner (Planner.plan)", [r"^(specialized )?static Planner\.plan\(_:policy:\)$"]),
    ("status snapshot (saveSnapshot)", [r"^SQLiteStateStore\.saveSnapshot\(desired:digests:plan:at:\)$"]),
    # The fingerprints are hashed as they are built, a block at a time: count BoringSSL's SHA-256 itself.
    ("SHA-256 of the snapshot and listing fingerprints", [r"^CCryptoBoringSSL_SHA256_Update$"]),
]
print(f"converged ferry reconcile, {int(sys.argv[2]):,} files x 3 endpoints: {total:,} instructions (callgrind)")
print(f"{'part':52} {'instructions':>15} {'share':>7}")
results = [{"metric": "instructions, whole pass (callgrind)", "ferry": f"{total / 1e9:.2f} G", "alternative": None,
            "ratio": None, "target": None, "met": None}]
for label, patterns in parts:
    count = sum(inclusive(p) for p in patterns)
    print(f"{label:52} {count:>15,} {100 * count / total:6.1f}%")
    results.append({"metric": f"instructions: {label.strip()}", "ferry": f"{count / 1e9:.3f} G ({100 * count / total:.1f} %)",
                    "alternative": None, "ratio": None, "target": None, "met": None})
out = os.environ.get("BENCH_RESULTS")
if out:
    import json
    notes = [
        "Instruction counts (valgrind callgrind) of one converged `ferry reconcile` of the converged scenario's data, "
        "the same on every run of the same binary: a regression shows here even when wall time is noise.",
        "Parts are inclusive counts of the functions doing each part; async work is counted where its synchronous "
        "callees run, so parts do not add up to the whole.",
        "Under valgrind, SHA-256 runs BoringSSL's portable code (valgrind hides the CPU's SHA extensions), so hashing "
        "weighs several times more here than on the machine itself.",
    ]
    with open(os.path.join(out, "profile.json"), "w") as f:
        json.dump({"scenario": "profile", "title": f"Converged pass, instruction counts, {int(sys.argv[2]):,} files × 3 endpoints",
                   "command": "bash bench/profile-converged.sh", "rows": results, "notes": notes}, f, indent=2,
                  ensure_ascii=False)
        f.write("\n")
PY
if [ -n "${KEEP:-}" ]; then cp "$work/callgrind.out" "$OLDPWD/callgrind.out"; fi
echo "reproduce: FILES=$files bash bench/profile-converged.sh"

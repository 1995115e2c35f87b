#!/usr/bin/env bash
# The benchmark, in one command: builds the release binaries once, installs wrk and the OpenAI Python SDK
# (.venv-bench/) when missing, runs every scenario against the bundled simulator on 127.0.0.1, prints one table and
# writes docs/performance.md (figures, machine, command).
#
#   bash bench/run.sh
#   SCENARIOS="uploads memory" bash bench/run.sh    # a subset; the other scenarios' last results are kept
#
# Scenarios (each also runs alone, see its header):
#   converged    bench/converged.sh      1. a converged run over many files
#   profile      bench/profile-converged.sh  the same pass under callgrind: instructions per part (repeatable)
#   planner      bench/planner.sh        2. the planner
#   digests      bench/digests.sh        3. source hashing and the digest cache
#   uploads      bench/uploads.sh        4. uploads against the OpenAI Python SDK and curl
#   memory       bench/large-upload.sh   5. peak memory of an apply uploading a 2 GiB file (SIZE=2G)
#   status-view  bench/status-view.sh    6. the status view under wrk, 10,000 files
#   state        bench/state.sh          7. the converged pass with SQLite and PostgreSQL state; replica takeover
#   curve        bench/curve.sh          8. the cost curve: reconcile, plan and per-resource refresh at 1k, 10k, 100k and
#                                           300k placements (CURVE_FILES), drawn to docs/performance-curve.svg
# Results (JSON per scenario, logs) stay in .build/bench-results/ (BENCH_RESULTS to change it).
set -euo pipefail
cd "$(dirname "$0")/.."

scenarios="${SCENARIOS:-converged profile planner digests uploads memory status-view state curve}"
export BENCH_RESULTS="${BENCH_RESULTS:-$PWD/.build/bench-results}"
mkdir -p "$BENCH_RESULTS"
started=$(date +%s)

# Machine facts before anything loads it.
python3 - "$BENCH_RESULTS/machine.json" <<'PY'
import json, sys
sys.path.insert(0, "bench")
import report
json.dump(report.machine(), open(sys.argv[1], "w"), indent=2)
PY

echo "== building release binaries"
swift build -c release 2>&1 | grep -v -e distributed-tracing -e CMakeLists | tail -n 3
export FERRY="$(swift build -c release --show-bin-path)/ferry"
[ -x "$FERRY" ] || { echo "no ferry binary at $FERRY" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
    echo "== installing wrk and GNU time (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time >/dev/null
fi
export VENV="$PWD/.venv-bench"
if ! "$VENV/bin/python" -c "import openai" 2>/dev/null; then
    echo "== installing the OpenAI Python SDK into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check openai
fi

script_for() {
    case "$1" in
        converged) echo bench/converged.sh ;;
        planner) echo bench/planner.sh ;;
        digests) echo bench/digests.sh ;;
        uploads) echo bench/uploads.sh ;;
        memory) echo bench/large-upload.sh ;;
        status-view) echo bench/status-view.sh ;;
        state) echo bench/state.sh ;;
        curve) echo bench/curve.sh ;;
        profile) echo bench/profile-converged.sh ;;
        *) return 1 ;;
    esac
}

failed=()
for scenario in $scenarios; do
    script=$(script_for "$scenario") || { echo "unknown scenario $scenario" >&2; exit 2; }
    rm -f "$BENCH_RESULTS/$scenario.json"
    if [ ! -f "$script" ]; then
        echo "== $scenario: $script is missing, skipped" >&2
        failed+=("$scenario")
        continue
    fi
    echo "== $scenario ($script)"
    env_size=()
    [ "$scenario" = memory ] && env_size=(SIZE="${SIZE:-2G}")
    if env "${env_size[@]}" bash "$script" 2>&1 | tee "$BENCH_RESULTS/$scenario.log"; then
        [ -f "$BENCH_RESULTS/$scenario.json" ] || { echo "== $scenario wrote no $scenario.json" >&2; failed+=("$scenario"); }
    else
        echo "== $scenario failed (log: $BENCH_RESULTS/$scenario.log)" >&2
        failed+=("$scenario")
    fi
done

elapsed=$(( $(date +%s) - started ))
python3 - "$BENCH_RESULTS/status.json" "$elapsed" "$scenarios" "${failed[@]}" <<'PY'
import datetime, json, sys
out, elapsed, ran, failed = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
json.dump({"finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "duration": f"{elapsed // 60} min {elapsed % 60} s", "ran": ran, "failed": failed}, open(out, "w"), indent=2)
PY
echo
python3 bench/report.py "$BENCH_RESULTS" --out docs/performance.md --command "bash bench/run.sh"
if [ ${#failed[@]} -gt 0 ]; then
    echo "scenarios without results: ${failed[*]}" >&2
    exit 1
fi

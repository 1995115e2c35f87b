#!/usr/bin/env bash
# Scenario 8 — the cost curve: how a converged pass grows with the number of placements. For each size (FILES
# desired files × 3 endpoints: OpenAI, Azure OpenAI and a Vertex AI Cloud Storage bucket, on a fresh bundled
# simulator at 127.0.0.1) the workspace is put in place once by `ferry apply`, then, interleaved, RUNS times each:
#   - converged `ferry reconcile` wall time (a fresh process each, as cron runs it), and the CPU seconds it and the
#     simulator used (both run on these cores: their sum over the cores is a floor for the wall time),
#   - `ferry plan` wall time and peak resident memory (GNU time's %M),
#   - a Terraform-style per-resource refresh (one GET per remote file Ferry owns, 4 in flight per endpoint like
#     Ferry's default concurrency, persistent connections: curl --parallel).
# Medians go to $BENCH_RESULTS/curve.json and the picture to docs/performance-curve.svg (bench/curve_svg.py).
#
#   bash bench/curve.sh
#   CURVE_FILES="100 1000" RUNS=3 REFRESH_RUNS=2 FERRY=.build/release/ferry BENCH_RESULTS=out/ bash bench/curve.sh
#   CURVE_SVG=/tmp/curve.svg bash bench/curve.sh     # write the picture elsewhere
#
# The setup of the largest size uploads 300,000 files (100,000 × 3, about 12 minutes); SETUP_PARALLELISM (default
# 16) is the `--parallelism` of that apply only, the measured passes run with Ferry's defaults. At 300,000
# placements the rows carry the issue's targets: a converged pass under 3 s, `plan` peak RSS under 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
sizes=${CURVE_FILES:-333 3333 33333 100000}
runs=${RUNS:-3}
refresh_runs=${REFRESH_RUNS:-3}
setup_parallelism=${SETUP_PARALLELISM:-16}
svg=${CURVE_SVG:-$repo/docs/performance-curve.svg}
concurrency=4
. scripts/lib.sh
ferry_results_dir
FERRY=${FERRY:-$(ferry_binary release ferry)}
ferry_workdir ferry-bench-curve
# A private copy: other builds may replace .build/release/ferry while the benchmark runs.
FERRY=$(ferry_private_copy "$FERRY")
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
now() { date +%s.%N; }
# User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/PID/stat, counted after the name).
sim_cpu_seconds() { sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ print ($12 + $13) / hz }'; }
started=$(now)

for files in $sizes; do
    dir="$work/n$files"
    mkdir -p "$dir"
    # A fresh simulator per size, so one size's files are not in the next size's listings.
    ferry_start_simulator --gcs-auth anonymous --content discard
    base=$sim_base
    ferry_bench_bucket "$base"
    ferry_three_endpoint_repo "$dir/repo" "$files" "$base"
    export STORAGE_EMULATOR_HOST=$base
    ferry() { ferry_run "$FERRY" "$@" --manifests "$dir/repo" --state "$dir/state.sqlite" --no-color; }

    echo "== $files files x 3 endpoints: setup (ferry apply --parallelism $setup_parallelism) ..." >&2
    t0=$(now)
    ferry apply --auto-approve --max-deletes 0 --parallelism "$setup_parallelism" > "$dir/apply.out" 2> "$dir/apply.err" \
        || { tail -n 20 "$dir/apply.err"; exit 1; }
    t1=$(now)
    python3 -c "print(f'{$t1 - $t0:.1f}')" > "$dir/setup.seconds"
    ferry plan --detailed-exitcode > "$dir/plan.out" 2> "$dir/plan.err" \
        || { tail -n 20 "$dir/plan.out" "$dir/plan.err"; echo "not converged after apply" >&2; exit 1; }
    ferry_refresh_configs "$dir" "$base"

    # Interleaved, so a burst of load from other work on the machine falls on every contender alike.
    for i in $(seq 1 "$runs"); do
        # CPU seconds: Ferry's (GNU time's user + system) and the simulator's during the pass (/proc/PID/stat),
        # which share these cores: their sum over the cores is a floor no schedule of this work can go below.
        sim_before=$(sim_cpu_seconds "$sim_pid")
        t0=$(now)
        ferry_run /usr/bin/time -f '%U %S' -o "$dir/reconcile-$i.cpu" "$FERRY" reconcile --manifests "$dir/repo" \
            --state "$dir/state.sqlite" --no-color > "$dir/reconcile-$i.out" 2> "$dir/reconcile-$i.err" \
            || { cat "$dir/reconcile-$i.err"; exit 1; }
        t1=$(now)
        python3 -c "print($t1 - $t0)" > "$dir/reconcile-$i.seconds"
        python3 -c "print($(sim_cpu_seconds "$sim_pid") - $sim_before)" > "$dir/reconcile-$i.simcpu"

        t0=$(now)
        ferry_run /usr/bin/time -f %M -o "$dir/plan-$i.kib" "$FERRY" plan --detailed-exitcode --manifests "$dir/repo" \
            --state "$dir/state.sqlite" --no-color > "$dir/plan-$i.out" 2> "$dir/plan-$i.err" || { cat "$dir/plan-$i.err"; exit 1; }
        t1=$(now)
        python3 -c "print($t1 - $t0)" > "$dir/plan-$i.seconds"

        if [ "$i" -le "$refresh_runs" ]; then
            ferry_refresh_run "$dir" "$concurrency" "$i"
        fi
        # The provider's share: the same listings fetched by a bare client (bench/listpages.py).
        python3 "$repo/bench/listpages.py" "$base" > "$dir/list-$i.seconds"
    done
    echo "   reconcile $(cat "$dir"/reconcile-*.seconds | tr '\n' ' ')s; plan $(cat "$dir"/plan-*.seconds | tr '\n' ' ')s," \
        "$(cat "$dir"/plan-*.kib | tr '\n' ' ')KiB; refresh $(cat "$dir"/refresh-[0-9]*.seconds | tr '\n' ' ')s" >&2
    ferry_stop "$sim_pid"
    rm -rf "$dir/repo"
done

elapsed=$(python3 -c "print(round($(now) - $started))")
python3 - "$work" "$runs" "$refresh_runs" "$concurrency" "$setup_parallelism" "$elapsed" "$svg" $sizes <<'PY'
import collections, glob, json, os, statistics, sys
sys.path.insert(0, "bench")
import curve_svg
work, runs, refresh_runs, concurrency, setup_parallelism, elapsed, svg = sys.argv[1:8]
runs, refresh_runs, concurrency, elapsed = int(runs), int(refresh_runs), int(concurrency), int(elapsed)
sizes = [int(s) for s in sys.argv[8:]]

def floats(pattern, n):
    return [float(open(pattern % i).read().split()[-1]) for i in range(1, n + 1)]

points = []
for files in sizes:
    d = os.path.join(work, f"n{files}")
    reconcile = floats(d + "/reconcile-%d.seconds", runs)
    plan = floats(d + "/plan-%d.seconds", runs)
    plan_mib = [kib / 1024 for kib in floats(d + "/plan-%d.kib", runs)]
    refresh = floats(d + "/refresh-%d.seconds", refresh_runs)
    bare_list = floats(d + "/list-%d.seconds", runs)
    ferry_cpu = [sum(map(float, open(d + f"/reconcile-{i}.cpu").read().split()[-2:])) for i in range(1, runs + 1)]
    simulator_cpu = floats(d + "/reconcile-%d.simcpu", runs)
    codes = collections.Counter()
    for path in glob.glob(d + f"/refresh-*-{refresh_runs}.codes"):
        codes.update(open(path).read().split())
    placements = files * 3
    if codes.get("200", 0) != placements:
        sys.exit(f"per-resource refresh at {files} files: answers {dict(codes)}, expected {placements} × 200")
    points.append({
        "files": files, "placements": placements, "setup_seconds": float(open(d + "/setup.seconds").read()),
        "reconcile_seconds": statistics.median(reconcile), "plan_seconds": statistics.median(plan),
        "plan_peak_rss_mib": statistics.median(plan_mib), "refresh_seconds": statistics.median(refresh),
        "bare_list_seconds": statistics.median(bare_list),
        "reconcile_cpu_seconds": statistics.median(ferry_cpu), "simulator_cpu_seconds": statistics.median(simulator_cpu),
        "cpu_floor_seconds": statistics.median([(f + m) / os.cpu_count() for f, m in zip(ferry_cpu, simulator_cpu)]),
        "runs": {"reconcile": reconcile, "plan": plan, "plan_peak_rss_mib": plan_mib, "refresh": refresh,
                 "bare_list": bare_list, "reconcile_cpu": ferry_cpu, "simulator_cpu": simulator_cpu},
    })

def s(x): return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"
rows = []
for p in points:
    n = f"{p['placements']:,} placements"
    # Issue 14's targets for 100,000 files on 3 endpoints: a converged pass under 3 s, peak RSS under 300 MB.
    at_scale = p["placements"] == 300_000
    rows.append({"metric": f"{n}: converged `ferry reconcile` wall time (median of {runs})", "ferry": s(p["reconcile_seconds"]),
                 "alternative": f"per-resource refresh: {s(p['refresh_seconds'])}",
                 "ratio": f"{p['refresh_seconds'] / p['reconcile_seconds']:.1f}× faster",
                 "target": "< 3 s" if at_scale else None, "met": p["reconcile_seconds"] < 3 if at_scale else None})
    rows.append({"metric": f"{n}: the simulator serving the listings alone (bare client, median of {runs})",
                 "ferry": s(p["bare_list_seconds"]), "alternative": None, "ratio": None, "target": None, "met": None})
    rows.append({"metric": f"{n}: CPU of a converged reconcile, Ferry's + the simulator's (same {os.cpu_count()} cores); "
                           f"their sum over the cores, a floor for its wall time here (medians of {runs})",
                 "ferry": f"{s(p['reconcile_cpu_seconds'])} + {s(p['simulator_cpu_seconds'])}; floor {s(p['cpu_floor_seconds'])}",
                 "alternative": None, "ratio": f"wall time {p['reconcile_seconds'] / p['cpu_floor_seconds']:.2f}× the floor",
                 "target": None, "met": None})
    rows.append({"metric": f"{n}: `ferry plan` wall time; peak RSS (median of {runs})",
                 "ferry": f"{s(p['plan_seconds'])}; {p['plan_peak_rss_mib']:.0f} MiB", "alternative": None, "ratio": None,
                 "target": "peak RSS < 300 MB" if at_scale else None,
                 "met": p["plan_peak_rss_mib"] * 1024 * 1024 < 300e6 if at_scale else None})
if len(points) >= 2:
    a, b = points[0], points[-1]
    grow = b["placements"] / a["placements"]
    rows.append({"metric": f"growth from {a['placements']:,} to {b['placements']:,} placements ({grow:.0f}× the work)",
                 "ferry": f"reconcile {b['reconcile_seconds'] / a['reconcile_seconds']:.1f}×, plan {b['plan_seconds'] / a['plan_seconds']:.1f}×, "
                          f"plan memory {b['plan_peak_rss_mib'] / a['plan_peak_rss_mib']:.1f}×",
                 "alternative": f"per-resource refresh: {b['refresh_seconds'] / a['refresh_seconds']:.1f}×", "ratio": None,
                 "target": None, "met": None})
notes = [
    "Each size: FILES small text sources (200 B – 4 KiB) declared by one FileSet for an OpenAI, an Azure OpenAI and a "
    "Vertex AI (Cloud Storage) model, on a fresh bundled simulator at 127.0.0.1; put in place once by "
    f"`ferry apply --auto-approve --parallelism {setup_parallelism}` (setup, not part of the figures: "
    + ", ".join(f"{p['setup_seconds']:.0f} s for {p['placements']:,}" for p in points) + " uploads).",
    f"Then, interleaved, {runs} converged `ferry reconcile` and {runs} `ferry plan` runs (fresh processes, Ferry's default "
    f"concurrency; peak RSS from GNU time's %M) and {refresh_runs} per-resource refreshes; figures are medians.",
    f"Per-resource refresh: one GET per owned remote file, {concurrency} in flight per endpoint, persistent connections "
    "(`curl --parallel`); it only reads the resources and plans nothing, so it is a lower bound for a Terraform-style refresh.",
    "Runs: " + "; ".join(
        f"{p['placements']:,}: reconcile " + " ".join(f"{x:.2f}" for x in p["runs"]["reconcile"])
        + " s (CPU " + " ".join(f"{x:.2f}" for x in p["runs"]["reconcile_cpu"]) + " s, simulator "
        + " ".join(f"{x:.2f}" for x in p["runs"]["simulator_cpu"])
        + " s), plan " + " ".join(f"{x:.2f}" for x in p["runs"]["plan"])
        + " s (" + " ".join(f"{x:.0f}" for x in p["runs"]["plan_peak_rss_mib"]) + " MiB), refresh "
        + " ".join(f"{x:.2f}" for x in p["runs"]["refresh"]) + " s, bare listing "
        + " ".join(f"{x:.2f}" for x in p["runs"]["bare_list"]) + " s" for p in points) + ".",
    "Bare listing: every list page of the three endpoints fetched by `bench/listpages.py` (the endpoints at once, each "
    "one chain of pages, nothing done with a page but find its cursor): what the simulator needs to serve a listing, "
    "which a converged pass cannot go below on these cores.",
    "CPU floor: Ferry's and the simulator's CPU seconds during a converged reconcile (GNU time's user + system; the "
    "simulator's from /proc/PID/stat), summed and divided by the cores they share. No schedule of that work finishes "
    "sooner on this machine, so a wall-time target below the floor cannot be met here without cutting CPU. "
    + "; ".join(
        f"{p['placements']:,}: {p['cpu_floor_seconds']:.2f} s (Ferry {p['reconcile_cpu_seconds']:.2f} s, simulator "
        f"{p['simulator_cpu_seconds']:.2f} s)" for p in points) + "."
    + "".join(
        f" At {p['placements']:,} placements the floor is above the 3 s target: Ferry's and the simulator's CPU together "
        f"would have to fall from {p['reconcile_cpu_seconds'] + p['simulator_cpu_seconds']:.1f} s to under "
        f"{3 * os.cpu_count():.0f} s; Ferry's own CPU over the cores is {p['reconcile_cpu_seconds'] / os.cpu_count():.2f} s."
        for p in points if p["placements"] == 300_000 and p["cpu_floor_seconds"] >= 3),
    f"Whole scenario {elapsed // 60} min {elapsed % 60} s. Machine: {os.cpu_count()} cores shared with other builds; "
    f"load average {' '.join(open('/proc/loadavg').read().split()[0:3])} at the end. The simulator runs on the same cores as Ferry.",
]
result = {"scenario": "curve", "title": "8. The cost curve: time and memory against the number of placements",
          "command": "bash bench/curve.sh", "image": "performance-curve.svg", "points": points, "rows": rows, "notes": notes}
curve_svg.write(svg, points)
print(f"\nScenario 8: the cost curve\n")
print(f"{'placements':>10}  {'reconcile':>10}  {'plan':>10}  {'plan RSS':>9}  {'refresh':>10}  {'setup':>8}")
for p in points:
    print(f"{p['placements']:>10,}  {p['reconcile_seconds']:>9.2f}s  {p['plan_seconds']:>9.2f}s  {p['plan_peak_rss_mib']:>5.0f} MiB"
          f"  {p['refresh_seconds']:>9.2f}s  {p['setup_seconds']:>7.0f}s")
for n in notes: print("-", n)
print(f"wrote {svg}")
out = os.environ.get("BENCH_RESULTS")
if out:
    with open(os.path.join(out, "curve.json"), "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write("\n")
PY

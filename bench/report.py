#!/usr/bin/env python3
"""Renders the scenario results of bench/run.sh into one table (stdout) and docs/performance.md.

    python3 bench/report.py RESULTS_DIR [--out docs/performance.md] [--command "bash bench/run.sh"]

RESULTS_DIR holds one JSON file per scenario, written by the scenario scripts when BENCH_RESULTS is set:
    {"scenario": "uploads", "title": "...", "command": "bash bench/uploads.sh",
     "rows": [{"metric", "ferry", "alternative" (or null), "ratio" (or null), "target" (or null),
               "met" (true, false or null)}], "notes": ["..."],
     optional: "measured" ("YYYY-MM-DD HH:MM UTC"; default the file's time), "image" (a picture next to docs/performance.md, shown in the
     section) and "points" (the figures the picture draws, shown as a table: bench/curve.sh)}
plus, optionally, machine.json and status.json written by run.sh (machine facts, which scenarios failed, which ran
in that invocation: a scenario kept from an earlier run is named in the header with the date it was measured).
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess

ORDER = ["converged", "profile", "planner", "digests", "uploads", "memory", "status-view", "state", "curve"]
EXPECTED = {
    "converged": "bench/converged.sh",
    "planner": "bench/planner.sh",
    "digests": "bench/digests.sh",
    "uploads": "bench/uploads.sh",
    "memory": "SIZE=2G bash bench/large-upload.sh",
    "status-view": "bench/status-view.sh",
    "state": "bench/state.sh",
    "curve": "bench/curve.sh",
    "profile": "bench/profile-converged.sh",
}


def machine() -> dict:
    def read(path):
        try:
            return open(path).read()
        except OSError:
            return ""

    cpu = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = next((int(line.split()[1]) for line in read("/proc/meminfo").splitlines()
                    if line.startswith("MemTotal:")), 0)
    osname = next((line.split("=", 1)[1].strip().strip('"') for line in read("/etc/os-release").splitlines()
                   if line.startswith("PRETTY_NAME=")), platform.system())
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60)
        swift_version = (swift.stdout or swift.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        swift_version = "unknown"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem_kib / (1 << 20):.1f} GiB",
        "kernel": platform.release(), "os": osname, "swift": swift_version,
        "load": read("/proc/loadavg").split()[:3],
    }


def cell(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def met_text(value) -> str:
    return {True: "met", False: "**missed**", None: "—"}[value]


def load(directory: str) -> tuple[list[dict], dict, dict]:
    results = {}
    for path in glob.glob(os.path.join(directory, "*.json")):
        name = os.path.basename(path)[:-5]
        if name in ("machine", "status"):
            continue
        with open(path) as f:
            data = json.load(f)
        data.setdefault("measured", datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
                        .strftime("%Y-%m-%d %H:%M UTC"))
        results[data.get("scenario", name)] = data
    ordered = [results[k] for k in ORDER if k in results]
    ordered += [v for k, v in sorted(results.items()) if k not in ORDER]
    info = {}
    status = {}
    for name, target in (("machine", info), ("status", status)):
        path = os.path.join(directory, name + ".json")
        if os.path.exists(path):
            target.update(json.load(open(path)))
    return ordered, info, status


def text_table(scenarios: list[dict]) -> str:
    rows = [("scenario", "metric", "Ferry", "alternative", "ratio", "target", "met")]
    for scenario in scenarios:
        for row in scenario["rows"]:
            rows.append((scenario["scenario"], row["metric"], cell(row.get("ferry")), cell(row.get("alternative")),
                         cell(row.get("ratio")), cell(row.get("target")), met_text(row.get("met")).strip("*")))
    widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(value[:60].ljust(widths[i]) for i, value in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(scenarios: list[dict], info: dict, status: dict, command: str) -> str:
    date = status.get("finished") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# Performance", ""]
    ran = status.get("ran")
    earlier = {s["scenario"] for s in scenarios if ran is not None and s["scenario"] not in ran}
    kept = ""
    if earlier:
        kept = ", except " + "; ".join(f"{s.get('title', s['scenario'])} (measured {s['measured']} by "
                                       f"`{s.get('command', '')}`)" for s in scenarios if s["scenario"] in earlier)
    out.append(f"Generated by `{command}` on {date}{kept}; do not edit by hand (rerun the command instead). "
               "Every scenario script also runs on its own and prints its table; `bench/report.py` renders this page "
               "from their JSON results.")
    out += ["", "## Machine", "", "| | |", "| --- | --- |"]
    out.append(f"| CPU | {cell(info.get('cpu'))} |")
    out.append(f"| cores | {cell(info.get('cores'))} |")
    out.append(f"| memory | {cell(info.get('memory'))} |")
    out.append(f"| OS / kernel | {cell(info.get('os'))} / Linux {cell(info.get('kernel'))} |")
    out.append(f"| Swift | {cell(info.get('swift'))} |")
    if info.get("load"):
        out.append(f"| load average at the start | {' '.join(info['load'])} |")
    if status.get("duration"):
        out.append(f"| duration of the run | {status['duration']} |")
    out += ["", "The machine is shared (2 cores used by other builds at the same time): wall times move by tens of "
            "percent between runs, so every contender of a comparison runs in the same invocation, interleaved, "
            "and the ratios are the figures to read.", ""]
    out += ["## Command", "", "```sh", command, "```", ""]
    out.append("It builds the release binaries once, installs wrk (apt-get) and the OpenAI Python SDK (into "
               "`.venv-bench/`) when missing, runs each scenario script below against the bundled simulator on "
               "127.0.0.1, and writes this page. One scenario alone: the command in its section.")
    out += ["", "## Summary", "", "| scenario | metric | Ferry | alternative | ratio | target | |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for scenario in scenarios:
        for row in scenario["rows"]:
            out.append(f"| {cell(scenario.get('title', scenario['scenario']))} | {cell(row['metric'])} | "
                       f"{cell(row.get('ferry'))} | {cell(row.get('alternative'))} | {cell(row.get('ratio'))} | "
                       f"{cell(row.get('target'))} | {met_text(row.get('met'))} |")
    missing = [name for name in ORDER if name not in {s["scenario"] for s in scenarios}]
    failed = status.get("failed", [])
    if missing or failed:
        out.append("")
        for name in missing:
            script = EXPECTED[name].split()[-1]
            why = "was not run: the script is missing" if not os.path.exists(script) else (
                "failed" if name in failed else "was not run")
            out.append(f"- Scenario `{name}` ({EXPECTED[name]}) {why}: no figures.")
    for scenario in scenarios:
        out += ["", f"## {scenario.get('title', scenario['scenario'])}", ""]
        if scenario["scenario"] in earlier:
            out += [f"Measured on {scenario['measured']} by this scenario alone (the sections without such a line are "
                    f"from the run named at the top):", ""]
        out += ["```sh", scenario.get("command", ""), "```"]
        if scenario.get("image"):
            out += ["", f"![{cell(scenario.get('title', scenario['scenario']))}]({scenario['image']})"]
        if scenario.get("points"):
            out += ["", "| placements | converged `ferry reconcile` | `ferry plan` | `ferry plan` peak RSS | "
                    "per-resource refresh | refresh ÷ reconcile | setup (first apply) |",
                    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for p in scenario["points"]:
                out.append(f"| {p['placements']:,} | {p['reconcile_seconds']:.2f} s | {p['plan_seconds']:.2f} s | "
                           f"{p['plan_peak_rss_mib']:.0f} MiB | {p['refresh_seconds']:.2f} s | "
                           f"{p['refresh_seconds'] / p['reconcile_seconds']:.1f}× | {p['setup_seconds']:.0f} s |")
        out += ["", "| metric | Ferry | alternative | ratio | target | |", "| --- | --- | --- | --- | --- | --- |"]
        for row in scenario["rows"]:
            out.append(f"| {cell(row['metric'])} | {cell(row.get('ferry'))} | {cell(row.get('alternative'))} | "
                       f"{cell(row.get('ratio'))} | {cell(row.get('target'))} | {met_text(row.get('met'))} |")
        if scenario.get("notes"):
            out.append("")
            for note in scenario["notes"]:
                out.append(f"- {note}")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--out", default=None)
    parser.add_argument("--command", default="bash bench/run.sh")
    args = parser.parse_args()
    scenarios, info, status = load(args.results)
    if not info:
        info = machine()
    print(text_table(scenarios))
    if args.out:
        with open(args.out, "w") as f:
            f.write(markdown(scenarios, info, status, args.command))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Where the wall time of one Ferry pass goes, phase by phase, from a perf recording with call graphs.

    perf record -F 2000 -g -o pass.data -- .build/release/ferry reconcile --manifests repo --state state.sqlite
    perf script -i pass.data -F comm,pid,tid,time,ip,sym,dso > pass.txt
    python3 bench/timeline.py pass.txt

Prints, for each phase, the first and last sample whose call stack holds one of its functions (seconds from the
process's first sample) and how many samples it has: a phase's span is its wall time, its samples over the span
times the rate its use of the cores. Used for docs/profile.md ("The seventh round"). Frames of libraries built
without frame pointers (SQLite) lose their callers, so a phase spent there shows fewer samples than it had.
"""
import re
import sys

PHASES = [
    ("validate", "8validate_7offline"),
    ("cached digests", "cachedDigests3for"),
    ("listing (decode)", "ProviderTransport"),
    ("store listings", "recordObservation"),
    ("owned rows read", "ownedFilesAndIntents"),
    ("owned rows shared", "SharedStrings"),
    ("planner", "PlannerO4plan"),
    ("snapshot", "saveSnapshot7desired"),
    ("run finished", "finishRun"),
]


def samples(path):
    current = None
    header = re.compile(r"^\s*(\S.*?)\s+(\d+)/(\d+)\s+([\d.]+):")
    for line in open(path, errors="replace"):
        match = header.match(line)
        if match:
            if current:
                yield current
            current = (float(match.group(4)), [])
        elif current is not None and line.strip():
            current[1].append(line.strip())
    if current:
        yield current


def main(path):
    found = list(samples(path))
    if not found:
        sys.exit(f"{path}: no samples (record with -g, print with perf script -F comm,pid,tid,time,ip,sym,dso)")
    start = found[0][0]
    print(f"{'phase':18} {'from':>7} {'to':>7} {'samples':>8}")
    for name, key in PHASES:
        times = [time - start for time, frames in found if any(key in frame for frame in frames)]
        if times:
            print(f"{name:18} {min(times):7.3f} {max(times):7.3f} {len(times):8d}")
    print(f"{'whole process':18} {0:7.3f} {found[-1][0] - start:7.3f} {len(found):8d}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

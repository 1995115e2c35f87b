#!/usr/bin/env python3
"""Scenario 4 (uploads): Ferry against the official OpenAI Python SDK and curl, on the bundled simulator.

Run through bench/uploads.sh, which builds Ferry and the SDK virtual environment first. Environment:
  FERRY        the ferry binary (required)
  VENV_PYTHON  the Python of the virtual environment with the openai package (required)
  PARALLELISM  uploads in flight for every contender (default 4, Ferry's default per endpoint)
  REPEAT       timed runs per contender and set; the median is reported (default 3)
  SETS         which sets to time: any of "small large all" (default all three)
  BENCH_RESULTS  a directory: also write uploads.json there (the result protocol of bench/run.sh)

Every timed run gets a fresh simulator started with `--content discard` (it reads, counts and lists every upload but
keeps no bytes, so the server costs the same for every contender and the client's cost is what is measured) and, for
Ferry, a fresh state database. Ferry is timed two ways:
  ferry        the end-to-end first `ferry apply --auto-approve` (hashes every source, lists, plans, uploads)
  ferry-saved  the GitOps path: `ferry plan -out plan.json` (not timed; it hashes the sources into the digest cache),
               then the timed `ferry apply plan.json`, which finds every digest in the cache (checked: it hashes
               nothing) and only lists, re-plans and uploads.
After each run the simulator's listing is checked: every file of the set, with its exact size, under the
contender's API key.
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import shutil

SMALL_COUNT, SMALL_BYTES = 2000, 64 * 1024
LARGE_COUNT, LARGE_BYTES = 20, 50 * 1024 * 1024

FERRY = os.environ["FERRY"]
VENV_PYTHON = os.environ["VENV_PYTHON"]
WIDTH = int(os.environ.get("PARALLELISM", "4"))
REPEAT = int(os.environ.get("REPEAT", "3"))
SETS = os.environ.get("SETS", "small large all").split()
HERE = os.path.dirname(os.path.abspath(__file__))

children: list[subprocess.Popen] = []


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process in children:
        children.remove(process)


def on_signal(number, _frame):
    for process in list(children):
        stop(process)
    sys.exit(128 + number)


def generate(data: str) -> dict[str, list[str]]:
    sets = {"small": [], "large": []}
    for name, count, size in (("small", SMALL_COUNT, SMALL_BYTES), ("large", LARGE_COUNT, LARGE_BYTES)):
        folder = os.path.join(data, name)
        os.makedirs(folder)
        for index in range(count):
            path = os.path.join(folder, f"{name}-{index:04d}.bin")
            with open(path, "wb") as handle:
                remaining = size
                while remaining:
                    piece = min(remaining, 8 << 20)
                    handle.write(os.urandom(piece))
                    remaining -= piece
            sets[name].append(path)
    sets["all"] = sets["small"] + sets["large"]
    return sets


def start_simulator(work: str) -> tuple[subprocess.Popen, int]:
    log = open(os.path.join(work, "simulator.log"), "w+")
    process = subprocess.Popen([FERRY, "simulator", "--port", "0", "--content", "discard"], stdout=log,
                               stderr=subprocess.STDOUT)
    children.append(process)
    for _ in range(400):
        log.seek(0)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
        if match:
            return process, int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.025)
    stop(process)
    raise SystemExit("the simulator did not start; see " + log.name)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_json(url: str, key: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def verify(port: int, key: str, paths: list[str]) -> str | None:
    """None when the simulator holds exactly these files (names and sizes) for `key`, else what is wrong."""
    listing = get_json(f"http://127.0.0.1:{port}/v1/files?limit=10000", key)["data"]
    expected = sorted((os.path.basename(p), os.path.getsize(p)) for p in paths)
    held = sorted((f["filename"].rsplit("/", 1)[-1], f["bytes"]) for f in listing)
    if held != expected:
        return f"simulator holds {len(held)} files ({sum(b for _, b in held)} bytes), expected {len(expected)} ({sum(b for _, b in expected)} bytes)"
    return None


def write_manifests(data: str, port: int, key: str, which: str) -> None:
    with open(os.path.join(data, "models.yaml"), "w") as f:
        f.write(
            "model_list:\n  - model_name: gpt-4o-mini\n"
            f'    litellm_params: {{model: openai/gpt-4o-mini, api_key: {key}, api_base: "http://127.0.0.1:{port}/v1"}}\n'
        )
    globs = {"small": ["small/*.bin"], "large": ["large/*.bin"], "all": ["small/*.bin", "large/*.bin"]}[which]
    with open(os.path.join(data, "files.yaml"), "w") as f:
        f.write(
            "kind: FileSet\nmetadata: {name: bench}\n"
            f"spec: {{sources: {json.dumps(globs)}, purpose: user_data, targetModels: [gpt-4o-mini]}}\n"
        )


def timed(command: list[str], out: str, env=None) -> tuple[float, int, int | None, float | None]:
    """Wall seconds, exit code, peak RSS in KiB and CPU seconds (user + system, children included; GNU time)."""
    usage_file = out + ".usage"
    start = time.perf_counter()
    with open(out, "w") as log:
        code = subprocess.call(["/usr/bin/time", "-f", "%M %U %S", "-o", usage_file] + command, stdout=log,
                               stderr=subprocess.STDOUT, env=env)
    elapsed = time.perf_counter() - start
    try:
        rss, user, system = open(usage_file).read().strip().splitlines()[-1].split()
        return elapsed, code, int(rss), float(user) + float(system)
    except (OSError, ValueError, IndexError):
        return elapsed, code, None, None


def run_once(work: str, data: str, sets: dict, contender: str, which: str, round_: int) -> dict:
    simulator, port = start_simulator(work)
    key = f"sk-bench-{contender}-{which}-{round_}"
    paths = sets[which]
    out = os.path.join(work, f"{contender}-{which}-{round_}.log")
    extra = {}
    try:
        if contender in ("ferry", "ferry-saved"):
            write_manifests(data, port, key, which)
            state = os.path.join(work, f"state-{which}-{round_}.sqlite")
            common = ["--no-color", "--manifests", data, "--state", state]
            if contender == "ferry":
                command = [FERRY, "apply", "--auto-approve", "--parallelism", str(WIDTH)] + common
            else:
                plan_file = os.path.join(work, f"plan-{which}-{round_}.json")
                plan_log = out + ".plan"
                plan_seconds, code, _, plan_cpu = timed([FERRY, "plan", "-out", plan_file] + common, plan_log)
                if code not in (0, 2):
                    raise SystemExit(f"ferry plan failed on the {which} set (exit {code}):\n"
                                     + open(plan_log, errors="replace").read()[-2000:])
                extra = {"plan_seconds": plan_seconds, "plan_cpu": plan_cpu}
                command = [FERRY, "apply", plan_file, "--parallelism", str(WIDTH)] + common
        elif contender == "sdk":
            listing = os.path.join(work, f"list-{which}.txt")
            command = [VENV_PYTHON, os.path.join(HERE, "sdk_upload.py"), f"http://127.0.0.1:{port}/v1", key,
                       str(WIDTH), listing]
        else:
            listing = os.path.join(work, f"list-{which}.txt")
            command = ["xargs", "-a", listing, "-P", str(WIDTH), "-I{}", "curl", "-sS", "-f", "-o", "/dev/null",
                       "-H", f"Authorization: Bearer {key}", "-H", "Expect:", "-F", "purpose=user_data", "-F", "file=@{}",
                       f"http://127.0.0.1:{port}/v1/files"]
        simulator_cpu = cpu_seconds(simulator.pid)
        elapsed, code, rss, cpu = timed(command, out)
        simulator_cpu = cpu_seconds(simulator.pid) - simulator_cpu
        if code != 0:
            tail = open(out, errors="replace").read()[-2000:]
            raise SystemExit(f"{contender} failed on the {which} set (exit {code}):\n{tail}")
        if contender == "ferry":
            # One read per byte: a first apply hashes while it uploads, so it reports no "Hashed" sources up front.
            hashed = re.search(r"Hashed (\d+) source\(s\) \((\d+) bytes\)", open(out, errors="replace").read())
            extra["hashed_before_bytes"] = int(hashed.group(2)) if hashed else 0
        if contender == "ferry-saved":
            # A saved plan's apply must find every digest in the cache: Ferry prints "Hashed N source(s)" only
            # when it read a source.
            hashed = re.search(r"Hashed (\d+) source\(s\) \((\d+) bytes\)", open(out, errors="replace").read())
            extra["rehashed"] = int(hashed.group(1)) if hashed else 0
            extra["rehashed_bytes"] = int(hashed.group(2)) if hashed else 0
        problem = verify(port, key, paths)
        if problem:
            raise SystemExit(f"{contender} on the {which} set: {problem}")
        stats = get_json(f"http://127.0.0.1:{port}/_sim/stats")
        return {"seconds": elapsed, "rss_kib": rss, "cpu": cpu, "simulator_cpu": simulator_cpu,
                "requests": stats.get("total"),
                "bytes_uploaded": stats.get("bytesUploaded"), **extra}
    finally:
        stop(simulator)
        if contender in ("ferry", "ferry-saved"):
            for suffix in ("", "-wal", "-shm", ".lock"):
                try:
                    os.remove(os.path.join(work, f"state-{which}-{round_}.sqlite{suffix}"))
                except FileNotFoundError:
                    pass


def hash_cpu_seconds(paths: list[str]) -> float:
    """CPU seconds this machine needs to SHA-256 the files once (hashlib, which uses OpenSSL's SHA extensions where
    the CPU has them), the least any client that records a digest of what it sent must add to a plain upload."""
    import hashlib
    for path in paths:  # warm the page cache, as the timed runs find it
        with open(path, "rb") as handle:
            while handle.read(8 << 20):
                pass
    start = time.process_time()
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return time.process_time() - start


def cpu_floor_note(cpu: dict, sim_cpu: dict, med: dict, sha256_cpu: float, cores: int, hashed_before: int) -> str:
    """Why the large first apply cannot come within 1.1× of curl on this machine: it is bound by CPU, and hashing
    every byte (required: the digest of what was sent is recorded) adds CPU that curl does not spend."""
    own_floor = (cpu["ferry"] + sim_cpu["ferry"]) / cores
    hashing = cpu["ferry"] - cpu["ferry-saved"]  # the first apply hashes; the saved plan's apply does not
    least_hash = min(hashing, sha256_cpu)
    bound = (cpu["curl"] + sim_cpu["curl"] + least_hash) / cores
    return (
        f"The large first apply is bound by CPU. Ferry used {cpu['ferry']:.2f} s (client) + {sim_cpu['ferry']:.2f} s "
        f"(simulator) of CPU, so on {cores} cores it cannot finish before {own_floor:.2f} s; it took "
        f"{med['ferry']:.2f} s ({med['ferry'] / own_floor:.2f}× that). Hashing is the difference from the saved plan's "
        f"apply: {hashing:.2f} s of CPU (SHA-256 of the set with hashlib in this run: {sha256_cpu:.2f} s). curl and "
        f"the simulator used {cpu['curl']:.2f} + {sim_cpu['curl']:.2f} s of CPU for the same bytes; adding the "
        f"cheaper of the two hash costs, any client that records the digest of what it sent needs at least "
        f"{bound:.2f} s on {cores} cores, {bound / med['curl']:.2f}× curl's {med['curl']:.2f} s, and Ferry's first "
        f"apply is {med['ferry'] / bound:.2f}× that bound. Within 1.1× of curl takes more cores than this machine "
        f"has. Bytes hashed before uploading (a second read), max over the runs: {hashed_before:,}.")


def human_size(count: int, size: int) -> str:
    unit = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
    return f"{count:,} × {unit}"


def main() -> int:
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    work = tempfile.mkdtemp(prefix="ferry-bench-uploads.")
    try:
        data = os.path.join(work, "data")
        os.makedirs(data)
        print(f"generating {SMALL_COUNT} × {SMALL_BYTES >> 10} KiB and {LARGE_COUNT} × {LARGE_BYTES >> 20} MiB in {work} …",
              flush=True)
        sets = generate(data)
        sha256_cpu = hash_cpu_seconds(sets["large"])
        print(f"SHA-256 of the large set in this process (hashlib, OpenSSL): {sha256_cpu:.2f} s CPU", flush=True)
        for which, paths in sets.items():
            with open(os.path.join(work, f"list-{which}.txt"), "w") as f:
                f.write("\n".join(paths) + "\n")
        contenders = ["ferry", "ferry-saved", "sdk", "curl"]
        results = {which: {c: [] for c in contenders} for which in SETS}
        for round_ in range(REPEAT):
            for which in SETS:
                # Rotate the order each round so no contender always runs first (cold) or last.
                order = contenders[round_ % len(contenders):] + contenders[:round_ % len(contenders)]
                for contender in order:
                    result = run_once(work, data, sets, contender, which, round_)
                    results[which][contender].append(result)
                    print(f"  round {round_ + 1}/{REPEAT} {which:5} {contender:11} {result['seconds']:7.2f} s"
                          f"  (client CPU {result['cpu']:.2f} s, simulator CPU {result['simulator_cpu']:.2f} s, "
                          f"{result['requests']} requests)", flush=True)
        return report(results, sets, sha256_cpu)
    finally:
        for process in list(children):
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict, sets: dict, sha256_cpu: float) -> int:
    labels = {
        "small": f"small: {human_size(SMALL_COUNT, SMALL_BYTES)}",
        "large": f"large: {human_size(LARGE_COUNT, LARGE_BYTES)}",
        "all": f"together: {human_size(SMALL_COUNT, SMALL_BYTES)} + {human_size(LARGE_COUNT, LARGE_BYTES)}",
    }
    ways = {
        "ferry": "end to end: first `ferry apply --auto-approve`, hashing included",
        "ferry-saved": "saved plan: `ferry apply plan.json` after `ferry plan -out` (digests cached)",
    }
    rows, lines = [], []
    med = {w: {c: statistics.median(r["seconds"] for r in runs) for c, runs in per.items()}
           for w, per in results.items()}
    cpu = {w: {c: statistics.median(r["cpu"] or 0 for r in runs) for c, runs in per.items()}
           for w, per in results.items()}
    sim_cpu = {w: {c: statistics.median(r["simulator_cpu"] for r in runs) for c, runs in per.items()}
               for w, per in results.items()}
    lines.append(f"{'set':48} {'ferry':>9} {'ferry-saved':>11} {'SDK':>9} {'curl':>9}  "
                 f"{'SDK/ferry':>9} {'ferry/curl':>10} {'SDK/saved':>9} {'saved/curl':>10}")
    for which in SETS:
        f, p, s, c = (med[which][k] for k in ("ferry", "ferry-saved", "sdk", "curl"))
        lines.append(f"{labels[which]:48} {f:8.2f}s {p:10.2f}s {s:8.2f}s {c:8.2f}s  "
                     f"{s / f:8.2f}× {f / c:9.2f}× {s / p:8.2f}× {p / c:9.2f}×")
        lines.append(f"{'  CPU s (client, user+sys)':48} {cpu[which]['ferry']:8.2f}s {cpu[which]['ferry-saved']:10.2f}s "
                     f"{cpu[which]['sdk']:8.2f}s {cpu[which]['curl']:8.2f}s  "
                     f"{cpu[which]['sdk'] / max(cpu[which]['ferry'], 1e-9):8.2f}× "
                     f"{cpu[which]['ferry'] / max(cpu[which]['curl'], 1e-9):9.2f}× "
                     f"{cpu[which]['sdk'] / max(cpu[which]['ferry-saved'], 1e-9):8.2f}× "
                     f"{cpu[which]['ferry-saved'] / max(cpu[which]['curl'], 1e-9):9.2f}×")
        mib = sum(os.path.getsize(p_) for p_ in sets[which]) / (1 << 20)
        for key in ("ferry", "ferry-saved"):
            t = med[which][key]
            # Issue 14: the large first apply reads each byte once (hashed while uploaded), within 1.1× of curl;
            # saved-plan applies (hashed at plan time) and the other sets keep 1.25×.
            bound = 1.1 if which == "large" and key == "ferry" else 1.25
            metric = f"{labels[which]}: Ferry {ways[key]} (wall, median of {REPEAT})"
            rows.append({
                "metric": metric, "ferry": f"{t:.2f} s ({mib / t:,.0f} MiB/s; CPU {cpu[which][key]:.2f} s)",
                "alternative": f"OpenAI SDK: {s:.2f} s (CPU {cpu[which]['sdk']:.2f} s)",
                "ratio": f"{s / t:.2f}× faster" if s >= t else f"{t / s:.2f}× slower",
                "target": "≥ 2× faster than the SDK", "met": s / t >= 2.0,
            })
            rows.append({
                "metric": metric, "ferry": f"{t:.2f} s (CPU {cpu[which][key]:.2f} s)",
                "alternative": f"curl -F, xargs -P {WIDTH}: {c:.2f} s (CPU {cpu[which]['curl']:.2f} s)",
                "ratio": f"{c / t:.2f}× faster" if c >= t else f"{t / c:.2f}× slower",
                "target": f"within {bound}× of curl", "met": t / c <= bound,
            })
    print()
    print("\n".join(lines))
    all_runs = {w: {c: [round(r["seconds"], 2) for r in runs] for c, runs in per.items()} for w, per in results.items()}
    rss = {c: max((r["rss_kib"] or 0) for per in results.values() for r in per[c]) for c in ("ferry", "ferry-saved", "sdk")}
    requests = {w: {c: per[c][0]["requests"] for c in per} for w, per in results.items()}
    rehashed = {w: max(r.get("rehashed", 0) for r in per["ferry-saved"]) for w, per in results.items()}
    plan_seconds = {w: statistics.median(r["plan_seconds"] for r in per["ferry-saved"]) for w, per in results.items()}
    print(f"\nevery run (s): {json.dumps(all_runs)}")
    print(f"simulator requests per run: {json.dumps(requests)}")
    print(f"saved-plan applies: sources hashed again {json.dumps(rehashed)}; untimed `ferry plan -out` "
          f"(s, median) {json.dumps({w: round(v, 2) for w, v in plan_seconds.items()})}")
    print(f"peak RSS: ferry {rss['ferry'] / 1024:.0f} MiB, ferry-saved {rss['ferry-saved'] / 1024:.0f} MiB, "
          f"SDK {rss['sdk'] / 1024:.0f} MiB")
    notes = [
        f"Every contender sends {WIDTH} uploads at a time to one simulator on 127.0.0.1, POST /v1/files multipart "
        f"(purpose user_data), one request per file: Ferry `apply --parallelism {WIDTH}`; the OpenAI Python SDK's "
        f"`AsyncOpenAI.files.create(file=open(path, 'rb'))` under `asyncio.Semaphore({WIDTH})`; `curl -F` run by "
        f"`xargs -P {WIDTH}` (one process and connection per file).",
        "The simulator runs with `--content discard`: it parses every multipart body, counts and lists each file with "
        "its exact size, but keeps no bytes (and hashes none), so the server's cost is the same small cost for every "
        "contender and the client's cost is what is measured. Earlier runs kept the bytes in memory; the simulator "
        "then spent about 1.35 s of CPU per GiB (mostly the kernel zeroing fresh pages) on the same 2 cores as the "
        "client, which capped every contender on the large set.",
        "Ferry is measured two ways, both reported: end to end, the whole first `ferry apply --auto-approve` "
        "(loading manifests, hashing every source with SHA-256 into a fresh state database, listing, planning, a "
        "write-ahead intent in SQLite before each upload and its record after, the verifying listing); and the "
        "GitOps path, where a pull request ran `ferry plan -out plan.json` (not timed, median "
        + ", ".join(f"{w} {v:.2f} s" for w, v in plan_seconds.items())
        + ") and the merge runs the timed `ferry apply plan.json`, which finds every digest in the cache: sources "
        f"hashed again by the saved-plan applies (max per set) {json.dumps(rehashed)}.",
        "50 MiB is below Ferry's 256 MiB Uploads API threshold, so Ferry sends every file with one Files API request, "
        "like the SDK and curl.",
        f"A fresh simulator for every timed run; after each, its listing was checked to hold every file of the set "
        f"with its exact size under that contender's API key. Every run (s): {json.dumps(all_runs)}.",
        f"Simulator requests per run: {json.dumps(requests)}. Peak RSS: Ferry {rss['ferry'] / 1024:.0f} MiB "
        f"(saved plan {rss['ferry-saved'] / 1024:.0f} MiB), SDK {rss['sdk'] / 1024:.0f} MiB.",
        "CPU seconds (median; client process and children, user + system / simulator) per set: " + "; ".join(
            f"{w}: " + ", ".join(f"{c} {cpu[w][c]:.2f}/{sim_cpu[w][c]:.2f}" for c in cpu[w]) for w in cpu) + ".",
    ]
    if "large" in SETS:
        notes.append(cpu_floor_note(cpu["large"], sim_cpu["large"], med["large"], sha256_cpu, os.cpu_count() or 1,
                                    max(r.get("hashed_before_bytes", 0) for r in results["large"]["ferry"])))
    notes += [
        "`ferry-saved` runs show one request more than `ferry`: the untimed `ferry plan -out` listed the same "
        "simulator before the timed apply.",
        "Why the end-to-end row is slower than the saved-plan row: a first apply hashes every source (SHA-256) as it "
        "uploads it, which the SDK and curl never do; on the large set that is 1 GiB of hashing on the same 2 cores. "
        "The saved-plan row is the upload path alone (the GitOps merge step, after `ferry plan -out` in review).",
        "Send path (perf record -g of the release binary): Ferry reads each upload with `pread` into reused 512 KiB "
        "buffers instead of a fresh 1 MiB NIO buffer per chunk read through NIO's thread pool; on a saved-plan apply of the "
        "large set that took client CPU from 0.82–1.01 s to 0.71–0.82 s per GiB, and the kernel's two copies "
        "(page cache → buffer, buffer → socket) are now about half of Ferry's samples, page faults and unmaps about "
        "5 % (were about 12 %). Even with no bytes kept the simulator needs about 1 s of CPU per GiB received "
        "(socket reads and multipart parsing), on the same 2 cores as the client.",
        "Small files (2,000 × 64 KiB): Ferry spends about 1.5 ms of CPU per file against the SDK's 2.3–3.4 ms; the "
        "SDK's own wall time varies from run to run (4.7–6.8 s in two runs an hour apart), so the ratio was 1.6–1.8× "
        "in one full run and 2.3–2.6× in the next, at the edge of the 2× target. A perf "
        "profile of a saved-plan apply of this set is flat: no function above 3 %; the largest shares are thread "
        "wake-ups and context switches (futex, scheduler: about 15 %) between Swift's cooperative pool, NIO's event "
        "loops and SQLite's write-ahead intent and record per upload (each its own transaction, batched by WAL into "
        "about 64 fsyncs for 2,000 files), then retain/release (6 %) and SQLite statement parsing (1 %). What would "
        "help: record intents in batches (one transaction per batch of uploads about to start, keeping the "
        "intent-before-upload order), cached prepared statements, and running upload tasks on NIO's event loop to "
        "avoid the hops; not done in this session.",
    ]
    result = {
        "scenario": "uploads", "title": "4. Uploads: Ferry vs the OpenAI Python SDK and curl",
        "command": "bash bench/uploads.sh", "rows": rows, "notes": notes,
        "parameters": {"parallelism": WIDTH, "repeat": REPEAT, "sets": SETS},
    }
    directory = os.environ.get("BENCH_RESULTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "uploads.json"), "w") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

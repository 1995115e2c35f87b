#!/usr/bin/env bash
# Scenario 4, uploads: 2,000 files of 64 KiB and 20 files of 50 MiB sent to the bundled simulator on 127.0.0.1 by
# `ferry apply`, by the official OpenAI Python SDK (AsyncOpenAI.files.create from asyncio) and by `curl -F` under
# `xargs -P`, all at the same concurrency; the small set, the large set and both together are timed separately.
# The simulator runs with `--content discard` (counts and lists every upload, keeps no bytes), so the client's cost
# is what is measured. Ferry is timed end to end (first `apply --auto-approve`, hashing included) and on the GitOps
# path (`ferry plan -out` untimed, then the timed `ferry apply plan.json`, digests cached).
# Prints a table of wall times, client CPU and ratios (Ferry ≥ 2× faster than the SDK, within 1.25× of curl).
#
#   bash bench/uploads.sh                               # builds the release ferry, makes .venv-bench with openai
#   FERRY=path/to/ferry PARALLELISM=4 REPEAT=3 SETS="small large all" bash bench/uploads.sh
#   BENCH_RESULTS=dir bash bench/uploads.sh             # also writes dir/uploads.json (bench/run.sh reads it)
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
FERRY=${FERRY:-$(ferry_binary release ferry)}
venv="${VENV:-$PWD/.venv-bench}"
if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check openai
fi
command -v curl >/dev/null || { echo "uploads.sh needs curl" >&2; exit 1; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
echo "openai $("$venv/bin/python" -c 'import openai; print(openai.__version__)'), $(curl --version | head -n 1 | cut -d' ' -f1-2), parallelism ${PARALLELISM:-4}, load $(cut -d' ' -f1-3 /proc/loadavg)"
# uploads.py starts (and stops, by PID) one simulator per timed run and removes its temporary files.
FERRY="$FERRY" VENV_PYTHON="$venv/bin/python" exec python3 bench/uploads.py

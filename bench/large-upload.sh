#!/usr/bin/env bash
# Large-file benchmark: one `ferry apply` uploads a file of SIZE (default 1 GiB) to an OpenAI endpoint (Uploads
# API, 64 MB parts), a Vertex AI endpoint (Cloud Storage resumable upload) and, for a file within its 512 MiB
# limit, an Azure OpenAI endpoint, all on the bundled simulator (bytes stored on disk, not in memory).
# Prints wall time and the peak RSS of the ferry process (GNU time), and the RSS of a no-op plan as the baseline.
#
# Scenario 5 of bench/run.sh (SIZE=2G): the peak RSS above the baseline must stay under 64 MiB.
#
#   bash bench/large-upload.sh            # 1 GiB
#   SIZE=2G bash bench/large-upload.sh
#   FERRY=path/to/ferry BENCH_RESULTS=dir SIZE=2G bash bench/large-upload.sh   # also writes dir/memory.json
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SIZE:-1G}
. scripts/lib.sh
FERRY=${FERRY:-$(ferry_binary release ferry)}
ferry_workdir ferry-bench-large
FERRY=$(ferry_private_copy "$FERRY")
ferry=$FERRY
mkdir -p "$work/manifests/docs" "$work/sim"
head -c "$size" /dev/urandom > "$work/manifests/docs/big.bin"
head -c 400M /dev/urandom > "$work/manifests/docs/azure.bin"
ferry_start_simulator --storage "$work/sim" --gcs-auth anonymous --max-upload-bytes 8000000000
port=$sim_port
ferry_bench_bucket "$sim_base"
cat > "$work/manifests/models.yaml" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-bench, api_base: "http://127.0.0.1:$port/v1"}
  - model_name: azure-gpt-4o
    litellm_params: {model: azure/gpt-4o, api_key: bench, api_base: "http://127.0.0.1:$port", api_version: "2024-10-21"}
  - model_name: gemini
    litellm_params: {model: vertex_ai/gemini-2.0-flash, gcs_bucket_name: ferry-bench}
YAML
cat > "$work/manifests/files.yaml" <<YAML
kind: File
metadata: {name: big}
spec: {source: docs/big.bin, purpose: user_data, targetModels: [gpt-4o-mini, gemini]}
---
kind: File
metadata: {name: azure-big}
spec: {source: docs/azure.bin, purpose: assistants, targetModels: [azure-gpt-4o]}
YAML
export STORAGE_EMULATOR_HOST="http://127.0.0.1:$port"
cd "$work"
/usr/bin/time -v "$ferry" plan --state state.sqlite > /dev/null 2> plan0.txt || true
/usr/bin/time -v "$ferry" apply --auto-approve --state state.sqlite > apply.txt 2> apply-time.txt || { echo "apply failed:"; grep -v -e "^\s" -e "^Command" apply-time.txt | tail -n 15; exit 1; }
/usr/bin/time -v "$ferry" plan --state state.sqlite > plan.txt 2> plan-time.txt
rss() { grep "Maximum resident set size" "$1" | awk '{print $6}'; }
wall() { grep "Elapsed (wall clock)" "$1" | awk '{print $8}'; }
echo "file sizes: big.bin $(stat -c %s manifests/docs/big.bin) bytes (OpenAI Uploads API + GCS resumable), azure.bin $(stat -c %s manifests/docs/azure.bin) bytes (Azure files API)"
echo "baseline (plan before apply, hashes the sources): peak RSS $(rss plan0.txt) KiB"
echo "apply: wall $(wall apply-time.txt), peak RSS $(rss apply-time.txt) KiB"
echo "plan after apply: $(tail -n 1 plan.txt), peak RSS $(rss plan-time.txt) KiB"
grep -E "^Apply complete" apply.txt
echo "reproduce: SIZE=$size bash bench/large-upload.sh"
if [ -n "${BENCH_RESULTS:-}" ]; then
    mkdir -p "$BENCH_RESULTS"
    python3 - "$BENCH_RESULTS/memory.json" "$size" "$(rss plan0.txt)" "$(rss apply-time.txt)" "$(wall apply-time.txt)" \
        "$(stat -c %s manifests/docs/big.bin)" "$(stat -c %s manifests/docs/azure.bin)" "$(tail -n 1 plan.txt)" <<'PY'
import json, sys
out, size, base, peak, wall, big, azure, after = sys.argv[1:]
base, peak, big, azure = int(base), int(peak), int(big), int(azure)
above = (peak - base) / 1024
parts = wall.split(":")
seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(parts)))
sent = (2 * big + azure) / (1 << 20)
json.dump({
    "scenario": "memory", "title": f"5. Memory: one apply uploading a {size[:-1]} {size[-1]}iB file",
    "command": f"SIZE={size} bash bench/large-upload.sh",
    "rows": [
        {"metric": "peak RSS above the baseline", "ferry": f"{above:.1f} MiB", "alternative": None,
         "ratio": f"{above / 64:.2f}× the budget", "target": "< 64 MiB above the baseline", "met": above < 64},
        {"metric": "peak RSS of the apply / of the baseline (a plan hashing the same sources)",
         "ferry": f"{peak / 1024:.1f} MiB / {base / 1024:.1f} MiB", "alternative": None, "ratio": None,
         "target": None, "met": None},
        {"metric": "apply wall time", "ferry": f"{seconds:.1f} s ({sent / seconds:,.0f} MiB/s sent)",
         "alternative": None, "ratio": None, "target": None, "met": None},
    ],
    "notes": [
        f"One `ferry apply` uploads big.bin ({big:,} bytes) to an OpenAI endpoint (Uploads API: 64 MB parts, "
        f"4 at a time) and to a Vertex AI endpoint (Cloud Storage resumable upload), and azure.bin ({azure:,} bytes) "
        "to an Azure OpenAI endpoint (one Files API request), all at once on the bundled simulator (bytes stored "
        "on disk).",
        "Peak RSS is GNU time's maximum resident set size of the ferry process; the baseline is a `ferry plan` over "
        "the same manifests (loads, hashes every source with the digest cache cold, lists the three endpoints).",
        f"The plan after the apply: {after}",
        "Sources are read with pread into a ring of three reused 512 KiB buffers per upload, one chunk at a time as "
        "the HTTP client asks for the next; a buffer is read into again only once the client has written it and let "
        "go of it, so an upload holds at most 1.5 MiB of its file whatever the scheduling.",
        "Before that bound (release build of 9eb5338), the peak varied from run to run: 67.7, 54.6, 86.6, 82.7 and "
        "50.7 MiB above the baseline in five runs. The HTTP client kept asking for body parts until its event loop "
        "paused the stream, and parts queued meanwhile each held a fresh buffer (heaptrack: 60 MB of them at the "
        "peak); with the bound, five runs gave 17.7, 18.4, 14.5, 18.5 and 14.7 MiB. Cause and evidence: "
        "docs/profile.md, \"Memory of large uploads\".",
    ],
}, open(out, "w"), indent=2, ensure_ascii=False)
PY
fi

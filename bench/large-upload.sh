#!/usr/bin/env bash
# Large-file benchmark: one `ferry apply` uploads a file of SIZE (default 1 GiB) to an OpenAI endpoint (Uploads
# API, 64 MB parts), a Vertex AI endpoint (Cloud Storage resumable upload) and, for a file within its 512 MiB
# limit, an Azure OpenAI endpoint, all on the bundled simulator (bytes stored on disk, not in memory).
# Prints wall time and the peak RSS of the ferry process (GNU time), and the RSS of a no-op plan as the baseline.
#
#   bash bench/large-upload.sh            # 1 GiB
#   SIZE=2G bash bench/large-upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SIZE:-1G}
swift build -c release --product ferry 2>&1 | grep -v -e distributed-tracing -e CMakeLists | tail -n 3 >&2
ferry=$PWD/.build/release/ferry
work=$(mktemp -d /tmp/ferry-bench-large.XXXXXX)
trap 'kill $sim 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/manifests/docs" "$work/sim"
head -c "$size" /dev/urandom > "$work/manifests/docs/big.bin"
head -c 400M /dev/urandom > "$work/manifests/docs/azure.bin"
port=18$((RANDOM % 900 + 100))
"$ferry" simulator --port "$port" --storage "$work/sim" --gcs-auth anonymous --max-upload-bytes 8000000000 > "$work/sim.log" 2>&1 &
sim=$!
sleep 1
curl -s -X POST "http://127.0.0.1:$port/storage/v1/b?project=bench" -H 'Authorization: Bearer x' \
    -H 'Content-Type: application/json' -d '{"name":"ferry-bench"}' > /dev/null || true
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

#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Works on a fresh clone: it installs the
# real third-party peers the tests talk to (gcp-storage-emulator, moto_server as a real S3, the official OpenAI
# Python SDK, a LiteLLM proxy
# with pytest for Ferry's LiteLLM callback) into a local
# virtual environment, .venv-test/, starts a private PostgreSQL server (scripts/postgres.sh; installed with
# apt-get when missing) so the state-store and engine suites run on both backends, then builds and runs every test.
# Set FERRY_TEST_POSTGRES_URL to use a server of your own instead; FERRY_TEST_REQUIRE_POSTGRES=1 (set here) makes
# the tests fail, not skip, when no server is reachable. Without arguments it also checks the recipes in examples/
# (scripts/check-recipes.sh: linters from PyPI into the same venv, and the GitHub workflow run against the simulator).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

venv=.venv-test
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "gcp-storage-emulator==2026.7.19" "openai>=1.40" "litellm[proxy]==1.108.7" "pytest>=8" \
    "jsonschema>=4.18" "pyyaml>=6" "moto[server]==5.2.5"
export FERRY_TEST_VENV="$PWD/$venv"

if [ -z "${FERRY_TEST_POSTGRES_URL:-}" ]; then ferry_postgres_start; fi
export FERRY_TEST_REQUIRE_POSTGRES=1

# LiteLLM must not fetch its model price map from the internet (only loopback traffic here).
export LITELLM_LOCAL_MODEL_COST_MAP=True
swift build --build-tests
swift test --skip-build "$@"
# The LiteLLM callback's own tests (integrations/litellm): id rewriting, caching and failing closed, against a real
# LiteLLM proxy and fake upstreams. Skipped when arguments select some Swift tests.
# The contract test: the simulator's OpenAI files and uploads answers against OpenAI's official OpenAPI schemas.
if [ "$#" -eq 0 ]; then
    "$venv/bin/python" -m pytest -q integrations/litellm/tests
    FERRY_BIN="$(swift build --show-bin-path)/ferry" "$venv/bin/python" -m pytest -q Tests/Contract
fi
# The deployment recipes in examples/: real linters, and the GitHub workflow's steps run against the simulator.
# Skipped when arguments select some tests.
if [ "$#" -eq 0 ]; then
    FERRY_BIN="$(swift build --show-bin-path)/ferry" bash scripts/check-recipes.sh
fi

#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Works on a fresh clone: it installs the
# real third-party peers the tests talk to (gcp-storage-emulator, the official OpenAI Python SDK) into a local
# virtual environment, .venv-test/, then builds and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-test
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "gcp-storage-emulator==2026.7.19" "openai>=1.40"
export FERRY_TEST_VENV="$PWD/$venv"

swift build --build-tests
swift test --skip-build "$@"

#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build "$@"

#!/usr/bin/env bash
# Renders the status view of a freshly populated demo state database to docs/status-view.png:
# 'ferry demo --state TMP' fills the database, 'ferry serve' serves it on 127.0.0.1, headless Chromium
# takes the screenshot, and the server is stopped by its PID.
#
#   bash scripts/screenshot.sh                 # builds the debug 'ferry' first
#   FERRY=path/to/ferry bash scripts/screenshot.sh
#   WINDOW=390,1600 OUT=/tmp/phone.png bash scripts/screenshot.sh   # a phone-sized view
set -euo pipefail
cd "$(dirname "$0")/.."

out="${OUT:-docs/status-view.png}"
window="${WINDOW:-1280,1500}"

if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
. scripts/lib.sh
FERRY=${FERRY:-$(ferry_binary debug ferry)}
ferry_workdir ferry-screenshot

echo "Populating a demo state database..."
if ! "$FERRY" demo --state "$work/state.sqlite" --no-color >"$work/demo.log" 2>&1; then
    cat "$work/demo.log"
    echo "ferry demo failed" >&2
    exit 1
fi

ferry_start_serve --state "$work/state.sqlite"
port=$serve_port
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

case "$out" in
    /*) target="$out" ;;
    *) target="$PWD/$out" ;;
esac
mkdir -p "$(dirname "$target")"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$window" --screenshot="$target" "http://127.0.0.1:$port/" >"$work/chromium.log" 2>&1 || {
    cat "$work/chromium.log"
    exit 1
}
echo "Wrote $out (${window/,/x}) from http://127.0.0.1:$port/"

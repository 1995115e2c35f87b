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
if [ -z "${FERRY:-}" ]; then
    swift build --product ferry
    FERRY="$(swift build --show-bin-path)/ferry"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "Populating a demo state database..."
if ! "$FERRY" demo --state "$work/state.sqlite" --no-color >"$work/demo.log" 2>&1; then
    cat "$work/demo.log"
    echo "ferry demo failed" >&2
    exit 1
fi

# Port 0: the server picks a free port and prints it.
"$FERRY" serve --listen 127.0.0.1:0 --state "$work/state.sqlite" >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 200); do
    port="$(sed -n 's#^Status view on http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$work/serve.log")"
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "ferry serve exited" >&2; exit 1; }
    sleep 0.05
done
[ -n "$port" ] || { cat "$work/serve.log"; echo "ferry serve did not start" >&2; exit 1; }
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

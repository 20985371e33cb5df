#!/usr/bin/env bash
# Browser tests of the web console (/console): builds larkdesk, starts `larkdesk serve` on a free
# port with a fresh SQLite database (demo mode, clock control), waits for /readyz, runs the suite
# in headless Chromium (Debian's /usr/bin/chromium through playwright-core), and stops the
# server. Screenshots of the main pages go to target/console-screenshots/ (CI artefacts).
#
# Needs node/npm and Chromium (`apt-get install chromium chromium-driver`; .ci/run installs them).
# CHROMIUM=/path/to/chrome overrides the browser; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "console-tests: no Chromium at $CHROMIUM" >&2; exit 1; }

(cd "$root" && cargo build -q -p larkdesk)
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund

work=$(mktemp -d)
LARKDESK_BIN="$target/debug/larkdesk"
# shellcheck source=../scripts/larkdesk-server.sh
. "$root/scripts/larkdesk-server.sh"
cleanup() {
  larkdesk_stop
  rm -rf "$work"
}
trap cleanup EXIT

admin_token="ldadm-console-tests-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export LARKDESK_ADMIN_TOKEN="$admin_token"
larkdesk_start "$work" --database-url "sqlite://$work/larkdesk.db" --clock-control || exit 1
base="$BASE_URL"

export LARKDESK_BASE_URL="$base" LARKDESK_ADMIN_TOKEN="$admin_token"
export LARKDESK_CREDENTIALS="$work/creds.json"
export SCREENSHOTS="$root/target/console-screenshots"
mkdir -p "$SCREENSHOTS"
status=0
node --test --test-concurrency=1 console.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log ---" >&2
  tail -50 "$work/server.log" >&2
fi
exit "$status"

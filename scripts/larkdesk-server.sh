# A larkdesk server for the suites that drive it from outside (conformance/, console-tests/,
# openapi/). Sourced, not run; the caller sets LARKDESK_BIN.
#
# larkdesk_start DIR [SERVE_FLAGS...]: `$LARKDESK_BIN serve` on a free port of 127.0.0.1, its
#   output in DIR/server.log and its credentials in DIR/creds.json; returns once /readyz answers
#   200, with SERVER_PID and BASE_URL set. On failure it prints the server's log and returns 1.
# larkdesk_stop: stops it (harmless when none runs).

SERVER_PID=""
BASE_URL=""

larkdesk_start() {
  local dir=$1 _
  shift
  "$LARKDESK_BIN" serve --bind 127.0.0.1:0 --credentials-file "$dir/creds.json" "$@" \
    >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  # The credentials file appears once the server has bound its port.
  for _ in $(seq 1 150); do
    [[ -s "$dir/creds.json" ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "larkdesk exited early; its log:" >&2
      cat "$dir/server.log" >&2
      return 1
    fi
    sleep 0.2
  done
  if [[ ! -s "$dir/creds.json" ]]; then
    echo "larkdesk did not write $dir/creds.json within 30 s; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
  BASE_URL="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$dir/creds.json")"
  for _ in $(seq 1 100); do
    curl -fs "$BASE_URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$BASE_URL/readyz never answered 200; the server's log:" >&2
  cat "$dir/server.log" >&2
  return 1
}

larkdesk_stop() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

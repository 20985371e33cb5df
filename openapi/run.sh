#!/usr/bin/env bash
# schemathesis against a running larkdesk, driven by the server's own /openapi.json.
#
# For each backend (a fresh SQLite file; then, when LARKDESK_TEST_POSTGRES_URL is set, a freshly
# created PostgreSQL database, dropped afterwards) this starts `larkdesk serve` on a free port,
# waits on /readyz, mints a tenant token for the demo app and runs schemathesis twice:
#   1. the Feishu surface (tokens, helpdesk, health) with the demo credentials;
#   2. the admin API with the admin token (last: it may reset the installation).
# Checks: no 5xx, and every response's status, content type and body as the document says.
# Path parameters are drawn part of the time from real ids (the demo's ticket, helpdesk, app,
# tenant and agent; a category, FAQ, field, skill and push job openapi/setup.py makes first) so
# that requests get past the lookups.
#
# Usage: openapi/run.sh                 (from anywhere)
# Env:   LARKDESK_BIN            the binary (default: $CARGO_TARGET_DIR or <repo>/target, debug/larkdesk;
#                                built with `cargo build -p larkdesk` if missing)
#        LARKDESK_TEST_POSTGRES_URL  an admin URL of a PostgreSQL server (optional)
#        OPENAPI_MAX_EXAMPLES    generated cases per operation and phase (default 60)
#        OPENAPI_SEED            a schemathesis seed, to repeat a run
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SCHEMATHESIS_VERSION="4.32.5"
MAX_EXAMPLES="${OPENAPI_MAX_EXAMPLES:-60}"

log() { printf '==> %s\n' "$*"; }

LARKDESK_BIN="${LARKDESK_BIN:-$TARGET/debug/larkdesk}"
if [[ ! -x "$LARKDESK_BIN" ]]; then
  log "building larkdesk ($LARKDESK_BIN not found)"
  (cd "$ROOT" && cargo build -p larkdesk)
fi

# --- schemathesis, pinned, in a venv under target/ -------------------------------------
VENV="$TARGET/schemathesis-venv"
if [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]]; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
TMP="$(mktemp -d)"
PG_DB=""
# shellcheck source=../scripts/larkdesk-server.sh
. "$ROOT/scripts/larkdesk-server.sh"
drop_pg() {
  if [[ -n "$PG_DB" ]]; then
    psql "$LARKDESK_TEST_POSTGRES_URL" -qAtc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    PG_DB=""
  fi
}
cleanup() {
  larkdesk_stop
  drop_pg
  rm -rf "$TMP"
}
trap cleanup EXIT

# The failures and the summary of a schemathesis run (all of it when it has neither).
report() {
  if grep -q '^=* SUMMARY =*$' "$1"; then
    sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,/^=* WARNINGS =*$/p; /^=* SUMMARY =*$/,$p' "$1"
  else
    tail -n 60 "$1"
  fi
}

# run_backend NAME DATABASE_URL
run_backend() {
  local name="$1" db_url="$2" dir="$TMP/$1"
  mkdir -p "$dir"
  log "$name: starting $LARKDESK_BIN"
  # Rate limits off: a 429 is documented, but it would stop the generated cases short of the
  # endpoints' own logic.
  larkdesk_start "$dir" --database-url "$db_url" --no-rate-limit || return 1

  # Credentials; a category, FAQ, customized field, skill and push job to find; and the
  # schemathesis config drawing path parameters from these ids part of the time.
  python3 "$HERE/setup.py" "$dir" || return 1
  # shellcheck disable=SC1091
  . "$dir/env"

  local common=(
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
    --phases examples,coverage,fuzzing
    --max-examples "$MAX_EXAMPLES"
    --workers 1
    --request-timeout 10
    --suppress-health-check all
    --no-color
  )
  [[ -n "${OPENAPI_SEED:-}" ]] && common+=(--seed "$OPENAPI_SEED")
  local status=0 started=$SECONDS
  log "$name: schemathesis on the Feishu surface"
  # From $dir: schemathesis keeps a cache in the working directory.
  (cd "$dir" && "$VENV/bin/schemathesis" --config-file "$dir/schemathesis.toml" run "$BASE/openapi.json" "${common[@]}" --exclude-tag admin \
    -H "Authorization: Bearer $TOKEN" -H "X-Lark-Helpdesk-Authorization: $HELPDESK") \
    >"$dir/feishu.out" 2>&1 || status=1
  report "$dir/feishu.out"
  log "$name: schemathesis on the admin API"
  (cd "$dir" && "$VENV/bin/schemathesis" --config-file "$dir/schemathesis.toml" run "$BASE/openapi.json" "${common[@]}" --include-tag admin \
    -H "Authorization: Bearer $ADMIN") \
    >"$dir/admin.out" 2>&1 || status=1
  report "$dir/admin.out"
  log "$name: schemathesis took $((SECONDS - started)) s"
  larkdesk_stop
  if [[ $status -ne 0 ]]; then
    log "$name: FAILED; server errors logged:"
    grep -E 'ERROR|panicked' "$dir/server.log" | head -40 >&2 || true
  fi
  return $status
}

status=0
run_backend sqlite "sqlite://$TMP/larkdesk.db" || status=1
if [[ -n "${LARKDESK_TEST_POSTGRES_URL:-}" ]]; then
  PG_DB="larkdesk_openapi_$(date +%s)_$$"
  psql "$LARKDESK_TEST_POSTGRES_URL" -qAtc "CREATE DATABASE $PG_DB" >/dev/null
  run_backend postgres "${LARKDESK_TEST_POSTGRES_URL%/*}/$PG_DB" || status=1
  drop_pg
fi
if [[ $status -eq 0 ]]; then log "openapi: schemathesis passed"; else log "openapi: schemathesis FAILED"; fi
exit "$status"

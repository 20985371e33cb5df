#!/usr/bin/env bash
# One tenant's heavy ticket against another tenant's writes: does an app that posts the largest
# messages allowed to one ticket, as fast as it can, slow down or fail the writes of another
# tenant of the same server?
#
#   bench/heavy-ticket.sh                             # SQLite, rate limits off
#   BENCH_LIMITS=on bench/heavy-ticket.sh             # the heavy app held to its rate limit
#   BENCH_BACKEND=postgres BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/heavy-ticket.sh
#
# A fresh database holds the demo tenant (the heavy one) and a second tenant with its own app and
# helpdesk, BENCH_TICKETS (10,000) generated tickets each. Per round (BENCH_ROUNDS, 3):
# - alone: the other tenant's app updates a random open ticket of its own (PUT /tickets/:id,
#   new tags), BENCH_OTHER_CONNECTIONS (4) connections, for BENCH_DURATION (10s);
# - beside the heavy ticket, once per count in BENCH_HEAVY_CONNECTIONS ("1 16"): the same,
#   while the demo tenant's app posts messages of 150 KiB (the largest a text message may be)
#   to one open ticket on that many connections, from 2 s before until after it. The heavy
#   ticket's log grows all along (tens of thousands of events by the last round).
# BENCH_LIMITS: off (default) runs the server with `--no-rate-limit`; on keeps the shipped
# limits (50 message posts a second per app) but for the other tenant's updates
# (`--rate-limit update_ticket=0`), so that only the heavy app is held back.
# Server pinned to CPU 0, both wrk processes to CPU 1. Prints a Markdown table and saves it to
# bench/results/heavy-ticket-<date>-<backend>-limits-<on|off>[-$BENCH_TAG].md. The target of
# the write-path work: the other tenant's writes never fail and keep their p99 under 20 ms.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TICKETS="${BENCH_TICKETS:-10000}"
DURATION="${BENCH_DURATION:-10s}"
SECS="${DURATION%s}"
[[ $SECS =~ ^[0-9]+$ ]] || die "BENCH_DURATION is in seconds, e.g. 10s"
ROUNDS="${BENCH_ROUNDS:-3}"
OTHER_CONNS="${BENCH_OTHER_CONNECTIONS:-4}"
read -r -a HEAVY_CONNS <<<"${BENCH_HEAVY_CONNECTIONS:-1 16}"
LIMITS="${BENCH_LIMITS:-off}"
case $LIMITS in
  off) LIMIT_ARGS=(--no-rate-limit) ;;
  on) LIMIT_ARGS=(--rate-limit update_ticket=0) ;;
  *) die "BENCH_LIMITS is on or off" ;;
esac
BACKEND="${BENCH_BACKEND:-sqlite}"

need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
need python3
if [[ $BACKEND == postgres ]]; then need psql; else need sqlite3 "apt-get install -y sqlite3"; fi
build_release -p larkdesk
bench_tmpdir

fresh_database "$BACKEND"
admin() { LARKDESK_LOG=warn "$LARKDESK" --database-url "$DB" admin "$@"; }
# open_ids HELPDESK_ID [LIMIT]: the open tickets of a helpdesk, one a line.
open_ids() {
  query "SELECT t.ticket_id FROM tickets t JOIN helpdesks h ON h.id = t.helpdesk_id
         WHERE h.helpdesk_id = '$1' AND t.status < 50 ORDER BY t.ticket_id ${2:+LIMIT $2}"
}

# The demo installation (the heavy tenant), then the other tenant with an app and a helpdesk.
start_larkdesk "$DB" setup --no-rate-limit
HEAVY_CREDS="$CREDS"
stop_pid "$SERVER_PID" 10
TENANT="$(admin create-tenant --name "other tenant" | jq -r .tenant_key)"
APP="$(admin create-app --tenant-key "$TENANT" --name "other app")"
DESK="$(admin create-helpdesk --tenant-key "$TENANT" --name "other helpdesk")"
OTHER_CREDS="$BENCH_TMP/other.creds.json"
jq -n --argjson app "$APP" --argjson desk "$DESK" \
  '{demo: {app_id: $app.app_id, app_secret: $app.app_secret, helpdesk_id: $desk.helpdesk_id,
           helpdesk_token: $desk.helpdesk_token, ticket_ids: []}}' >"$OTHER_CREDS"
HEAVY_DESK="$(jq -r .demo.helpdesk_id "$HEAVY_CREDS")"
OTHER_DESK="$(jq -r .demo.helpdesk_id "$OTHER_CREDS")"
log "loading $TICKETS tickets into each tenant's helpdesk"
admin generate-tickets --helpdesk-id "$HEAVY_DESK" --count "$TICKETS" >/dev/null
admin generate-tickets --helpdesk-id "$OTHER_DESK" --count "$TICKETS" >/dev/null
sync
open_ids "$OTHER_DESK" >"$BENCH_TMP/other.ids"
open_ids "$HEAVY_DESK" 1 >"$BENCH_TMP/heavy.ids"
HEAVY_TICKET="$(cat "$BENCH_TMP/heavy.ids")"
[[ -n $HEAVY_TICKET ]] || die "no open ticket in the demo helpdesk"
log "other tenant: $(wc -l <"$BENCH_TMP/other.ids") open tickets; heavy ticket $HEAVY_TICKET"
python3 -c 'import json; print(json.dumps({"msg_type": "text", "content": {"text": "x" * 150_000}}))' \
  >"$BENCH_TMP/heavy.json"

start_larkdesk "$DB" larkdesk "${LIMIT_ARGS[@]}"
URL=$BASE_URL
# The environment each tenant's wrk runs with (demo_auth exports the auth headers).
demo_auth "$HEAVY_CREDS" "$URL"
HEAVY_ENV=(BENCH_AUTHORIZATION="$BENCH_AUTHORIZATION" BENCH_HELPDESK_AUTH="$BENCH_HELPDESK_AUTH")
demo_auth "$OTHER_CREDS" "$URL"

# heavy_load CONNECTIONS SECONDS: the heavy tenant's posts, in the background (sets HEAVY_PID,
# HEAVY_OUT).
heavy_load() {
  HEAVY_OUT="$BENCH_TMP/wrk-heavy-c$1-r$round.txt"
  env "${HEAVY_ENV[@]}" BENCH_IDS_FILE="$BENCH_TMP/heavy.ids" BENCH_ID_PATH_SUFFIX=/messages BENCH_METHOD=POST \
    BENCH_BODY_FILE="$BENCH_TMP/heavy.json" taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$1" -d"$2s" --timeout 30s --latency -s "$BENCH_DIR/auth.lua" "$URL" >"$HEAVY_OUT" 2>&1 &
  HEAVY_PID=$!
  BENCH_PIDS+=("$HEAVY_PID")
}
OTHER_BODY='{"tag_names":["billing","urgent"]}'
other_writes() {
  BENCH_IDS_FILE="$BENCH_TMP/other.ids" BENCH_METHOD=PUT BENCH_BODY="$OTHER_BODY" \
    run_wrk "$1" "$OTHER_CONNS" "$DURATION" "$URL"
}
# counters_before, then counters_since: the SQLite log restarts between the two calls and how long
# they held the writers ("2, 41 ms").
counters_before() {
  RESTARTS="$(metric larkdesk_sqlite_log_restarts_total)"
  HELD="$(metric larkdesk_sqlite_log_restart_hold_seconds_total)"
}
counters_since() {
  printf '%s, %s ms' $(($(metric larkdesk_sqlite_log_restarts_total) - RESTARTS)) \
    "$(awk -v a="$(metric larkdesk_sqlite_log_restart_hold_seconds_total)" -v b="$HELD" 'BEGIN { printf "%.0f", 1000 * (a - b) }')"
}
# accepted_posts: the heavy ticket's message posts answered 200 so far.
accepted_posts() {
  curl -s "$URL/metrics" | awk '$1 ~ /^larkdesk_http_requests_total\{/ && /endpoint="create_ticket_message"/ && /status="200"/ { n += $2 } END { print n + 0 }'
}
events() { query "SELECT count(*) FROM ticket_events WHERE ticket_id = $HEAVY_TICKET"; }
# metric NAME: a counter of the server's /metrics (0 when it has none: PostgreSQL has no log restarts).
metric() { curl -s "$URL/metrics" | awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }'; }

declare -a ROWS
FAILED=0
for ((round = 1; round <= ROUNDS; round++)); do
  counters_before
  other_writes "alone-r$round"
  ROWS+=("| $round | alone | $(fmt_int "$W_RPS") | $W_P50 ms | $W_P99 ms | $W_MAX ms | $((W_NON2XX + W_ERRORS)) | | | $(counters_since) |")
  FAILED=$((FAILED + W_NON2XX + W_ERRORS))
  for hc in "${HEAVY_CONNS[@]}"; do
    before="$(events)"
    accepted="$(accepted_posts)"
    counters_before
    heavy_load "$hc" $((SECS + 4))
    sleep 2
    other_writes "beside-heavy-c$hc-r$round"
    wait "$HEAVY_PID" || die "the heavy tenant's wrk failed: $(cat "$HEAVY_OUT")"
    line="$(grep '^BENCH_RESULT' "$HEAVY_OUT" | tail -1)" || die "no BENCH_RESULT from the heavy wrk"
    accepted=$(($(accepted_posts) - accepted))
    heavy="$(awk -v n="$accepted" -v s="$(field seconds "$line")" 'BEGIN { printf "%.0f", n / s }')/s accepted"
    heavy+=" of $(fmt_int "$(field rps "$line")")/s sent, p99 $(field p99_ms "$line") ms"
    restarts="$(counters_since)"
    log "heavy-c$hc-r$round: $heavy; log $before -> $(events) events; log restarts, writers held: $restarts"
    ROWS+=("| $round | beside $hc connection(s) posting to the heavy ticket | $(fmt_int "$W_RPS") | $W_P50 ms | $W_P99 ms | $W_MAX ms | $((W_NON2XX + W_ERRORS)) | $heavy | $before → $(events) | $restarts |")
    FAILED=$((FAILED + W_NON2XX + W_ERRORS))
  done
done

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/heavy-ticket-$DATE-$BACKEND-limits-$LIMITS${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## The other tenant's writes beside a heavy ticket, $BACKEND, rate limits $LIMITS ($DATE)"
  echo
  machine_info
  echo "- server flags: \`${LIMIT_ARGS[*]}\`; $TICKETS generated tickets in each tenant's helpdesk; rounds of $DURATION; wrk -t1 on CPU $CLIENT_CPU (both), server on CPU $SERVER_CPU"
  echo "- other tenant: PUT /tickets/:id \`$OTHER_BODY\` to a random open ticket of its own, $OTHER_CONNS connections"
  echo "- heavy tenant: POST /tickets/$HEAVY_TICKET/messages with 150 KiB of text on ${HEAVY_CONNS[*]} connections, from 2 s before the other's run until 2 s after; its posts accepted (HTTP 200, from the server's /metrics) and sent (wrk)"
  echo
  echo "| round | other tenant's writes | req/s | p50 | p99 | max | failed | heavy ticket's posts | heavy log (events) | SQLite log restarts, writers held |"
  echo "|---:|---|---:|---:|---:|---:|---:|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Failed writes of the other tenant (non-2xx or socket errors), all rounds: $FAILED"
} | tee "$REPORT"

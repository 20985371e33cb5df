#!/usr/bin/env bash
# What users do, beyond the cached GET: GET of random tickets (cache misses), messages posted to
# random open tickets, and a mix, against the bare baseline server in the same run.
#
#   bench/writes.sh                                   # 100k tickets on SQLite, 64 connections
#   BENCH_TICKETS=1000000 BENCH_CONNECTIONS="1 64" BENCH_DURATION=10s bench/writes.sh
#   BENCH_BACKEND=postgres BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/writes.sh
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/writes.sh   # SQLite: a copy of a saved database
#   BENCH_OPEN_LATEST=1 BENCH_TICKETS=1000000 bench/writes.sh   # the open tickets among the latest
#
# Loads BENCH_TICKETS generated tickets into the demo helpdesk (`larkdesk admin generate-tickets`),
# or, with BENCH_DB and BENCH_CREDS (the credentials file of its first start), copies that SQLite
# database (a million tickets take minutes to generate), then, per connection count and round: the baseline; GET of one ticket (cached); GET of a random
# ticket; POST /tickets/:id/messages to a random open ticket (status < 50); and a mix of 80% GET of
# a random ticket, 10% a GET /tickets page, 10% such a message; each after BENCH_WARMUP seconds
# (2; 0 for none) of the same load, not counted. BENCH_OPEN_LATEST=1 generates the tickets with
# `--open-latest` (ids in creation order, the open ones among the newest, as in a helpdesk; by
# default they are spread over all ids, the worst case for the posts). Server pinned to CPU 0, wrk to
# CPU 1 (PostgreSQL itself is not pinned). Prints a Markdown table and saves it to
# bench/results/writes-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TICKETS="${BENCH_TICKETS:-100000}"
DURATION="${BENCH_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-2}"
read -r -a CONNS <<<"${BENCH_CONNECTIONS:-64}"

need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
BACKEND="${BENCH_BACKEND:-sqlite}"
need sqlite3 "apt-get install -y sqlite3"
[[ $BACKEND == postgres ]] && need psql
build_release -p larkdesk -p larkdesk-bench-baseline
bench_tmpdir

fresh_database "$BACKEND"
if [[ -n ${BENCH_DB:-} ]]; then
  [[ $BACKEND == sqlite ]] || die "BENCH_DB is a SQLite database"
  [[ -s ${BENCH_CREDS:-} ]] || die "BENCH_DB needs BENCH_CREDS: the credentials file of its first start"
  log "copying $BENCH_DB"
  cp "$BENCH_DB" "$BENCH_TMP/bench.db"
  CREDS="$BENCH_CREDS"
  TICKETS="$(query "SELECT count(*) FROM tickets")"
else
  start_larkdesk "$DB" larkdesk --no-rate-limit
  demo_auth "$CREDS" "$BASE_URL"
  stop_pid "$SERVER_PID" 10
  log "loading $TICKETS tickets"
  LARKDESK_LOG=warn "$LARKDESK" --database-url "$DB" admin generate-tickets --helpdesk-id "$HELPDESK_ID" \
    --count "$TICKETS" ${BENCH_OPEN_LATEST:+--open-latest} >"$BENCH_TMP/generate.json"
fi
SETUP_CREDS="$CREDS"
# Written back now, not by the kernel's flusher 30 s later, in the middle of a measured run.
sync
query "SELECT ticket_id FROM tickets" >"$BENCH_TMP/all.ids"
query "SELECT ticket_id FROM tickets WHERE status < 50" >"$BENCH_TMP/open.ids"
log "$(wc -l <"$BENCH_TMP/all.ids") tickets, $(wc -l <"$BENCH_TMP/open.ids") open"

start_larkdesk "$DB" larkdesk-loaded --no-rate-limit
LARKDESK_PID=$SERVER_PID
LARKDESK_URL=$BASE_URL
demo_auth "$SETUP_CREDS" "$LARKDESK_URL"
start_baseline baseline
BASELINE_URL=$BASE_URL

declare -A RPS P99 NON2XX DISK
measure() {
  local name=$1 c=$2 round=$3 url=$4 read_before
  # A fresh server's first seconds of writes grow its log file: not what a long run sees.
  [[ ${BENCH_WARMUP:-2} != 0 ]] && BENCH_WARMUP_CONNS=$c warm_up "$url"
  read_before="$(storage_reads "$LARKDESK_PID")"
  run_wrk "$name-c$c-r$round" "$c" "$DURATION" "$url"
  RPS[$name,$c]+=" $W_RPS"
  P99[$name,$c]+=" $W_P99"
  NON2XX[$name,$c]=$((${NON2XX[$name,$c]:-0} + W_NON2XX))
  # What larkdesk read from the disk meanwhile (not from the page cache): pages the kernel had
  # dropped, read back (see damon_info in lib.sh).
  DISK[$name,$c]+=" $(($(storage_reads "$LARKDESK_PID") - read_before))"
}
ONE_ID="$(head -1 "$BENCH_TMP/all.ids")"
SCENARIOS=(baseline cached_get random_get message_post mixed)
for c in "${CONNS[@]}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    BENCH_IDS_FILE="" measure baseline "$c" "$round" "$BASELINE_URL/open-apis/helpdesk/v1/tickets/1"
    BENCH_IDS_FILE="" measure cached_get "$c" "$round" "$LARKDESK_URL/open-apis/helpdesk/v1/tickets/$ONE_ID"
    BENCH_IDS_FILE="$BENCH_TMP/all.ids" measure random_get "$c" "$round" "$LARKDESK_URL"
    BENCH_IDS_FILE="$BENCH_TMP/open.ids" BENCH_ID_PATH_SUFFIX=/messages BENCH_METHOD=POST BENCH_BODY="$MESSAGE_BODY" \
      measure message_post "$c" "$round" "$LARKDESK_URL"
    BENCH_MIX=80,10,10 BENCH_IDS_FILE="$BENCH_TMP/all.ids" BENCH_WRITE_IDS_FILE="$BENCH_TMP/open.ids" BENCH_BODY="$MESSAGE_BODY" \
      measure mixed "$c" "$round" "$LARKDESK_URL"
  done
done

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/writes-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Random GETs, message writes and a mix, $TICKETS tickets on $BACKEND ($DATE)"
  echo
  machine_info
  echo "- \`--no-rate-limit\`; ${ROUNDS} rounds of ${DURATION} per row after a ${BENCH_WARMUP:-2} s warm-up, median; wrk -t1 on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU"
  echo "- cached_get: GET /tickets/:id of one ticket; random_get: GET /tickets/:id of a random ticket of all $(wc -l <"$BENCH_TMP/all.ids"); message_post: POST /tickets/:id/messages to a random open ticket of $(wc -l <"$BENCH_TMP/open.ids"); mixed: 80% random_get, 10% GET /tickets?page_size=20 (pages 1-50), 10% message_post"
  echo
  echo "| what | connections | req/s | p99 | % of baseline req/s | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    base="$(median ${RPS[baseline,$c]})"
    for name in "${SCENARIOS[@]}"; do
      rps="$(median ${RPS[$name,$c]})"
      printf '| %s | %s | %s | %s ms | %s | %s |\n' "$name" "$c" "$(fmt_int "$rps")" "$(median ${P99[$name,$c]})" \
        "$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.0f%%", 100 * a / b }')" "${NON2XX[$name,$c]}"
    done
  done
  echo
  echo "Every round, req/s and p99 (and, when larkdesk read from the disk rather than the page cache during it, how much); the last two columns are the targets' ratios: the random GETs' rate as a share of the cached GET's, and their p99 as a multiple of the baseline's:"
  echo
  echo "| connections | round | baseline | cached_get | random_get | message_post | mixed | random / cached | random p99 / baseline p99 |"
  echo "|---:|---:|---|---|---|---|---|---:|---:|"
  for c in "${CONNS[@]}"; do
    for ((round = 1; round <= ROUNDS; round++)); do
      cells=()
      for name in "${SCENARIOS[@]}"; do
        disk="$(nth "$round" ${DISK[$name,$c]})"
        from_disk=""
        ((disk > 0)) && from_disk="; $(human_bytes "$disk") from disk"
        cells+=("$(fmt_int "$(nth "$round" ${RPS[$name,$c]})"), $(nth "$round" ${P99[$name,$c]}) ms$from_disk")
      done
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$round" "${cells[@]}" \
        "$(awk -v a="$(nth "$round" ${RPS[random_get,$c]})" -v b="$(nth "$round" ${RPS[cached_get,$c]})" 'BEGIN { printf "%.1f%%", 100 * a / b }')" \
        "$(awk -v a="$(nth "$round" ${P99[random_get,$c]})" -v b="$(nth "$round" ${P99[baseline,$c]})" 'BEGIN { printf "%.2f×", a / b }')"
    done
  done
} | tee "$REPORT"

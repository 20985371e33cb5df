#!/usr/bin/env bash
# Message posts, two larkdesk binaries A/B: rounds alternate A and B on fresh copies of one
# SQLite database, so both meet the same machine (this VM's speed drifts by tens of percent over
# an hour). Per round: POST /tickets/:id/messages to random open tickets at 64 connections for
# BENCH_DURATION after a 2 s warm-up, with the server's CPU per request (user and kernel, from
# /proc), what its threads wrote per request (the runtime's log frames and responses, the
# checkpointer's copies into the database file: `wchar` of /proc/PID/task/*/io) and the size
# of the write-ahead log it left.
#
#   bench/posts-ab.sh A_BIN B_BIN
#   BENCH_ROUNDS=3 BENCH_DURATION=10s bench/posts-ab.sh target/release/larkdesk /tmp/old/larkdesk
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/posts-ab.sh A_BIN B_BIN   # reuse a database
#   BENCH_MIX=80,10,10 bench/posts-ab.sh A_BIN B_BIN   # writes.sh's mix instead of posts alone
#   BENCH_DB=old.db BENCH_DB_B=migrated.db BENCH_CREDS=… bench/posts-ab.sh A_BIN B_BIN   # B on its own copy
#
# BENCH_DB_B gives B a database of its own (the same one upgraded, when B brings a migration A
# does not know: a copy B upgrades at its start differs from one upgraded before, e.g. by a
# write-ahead log the upgrade already grew).
#
# Without BENCH_DB, a database with BENCH_TICKETS (100k) generated tickets is made first (by A);
# BENCH_KEEP=1 keeps it (and its credentials file) for the next run. Prints a
# Markdown table and saves it to bench/results/posts-ab-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || die "usage: bench/posts-ab.sh A_BIN B_BIN"
A_BIN="$(realpath "$1")"
B_BIN="$(realpath "$2")"
ROUNDS="${BENCH_ROUNDS:-3}"
DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-64}"
need wrk "apt-get install -y wrk"
need sqlite3 "apt-get install -y sqlite3"
need jq
need taskset
bench_tmpdir

LARKDESK="$A_BIN" source_database
[[ -n ${BENCH_MIX:-} ]] && sqlite3 "$SOURCE_DB" "SELECT ticket_id FROM tickets" >"$BENCH_TMP/all.ids"

# load LABEL CONNECTIONS DURATION: message posts, or BENCH_MIX (GET%,LIST%,POST%) as writes.sh runs it.
load() {
  if [[ -n ${BENCH_MIX:-} ]]; then
    BENCH_IDS_FILE="$BENCH_TMP/all.ids" BENCH_WRITE_IDS_FILE="$BENCH_TMP/open.ids" BENCH_BODY="$MESSAGE_BODY" \
      run_wrk "$@" "$BASE_URL"
  else
    post_messages "$@"
  fi
}

declare -A ROWS
round() {
  local label=$1 bin=$2 round=$3 before after
  local source=$SOURCE_DB
  [[ $label == B && -n ${BENCH_DB_B:-} ]] && source=$BENCH_DB_B
  SOURCE_DB="$source" LARKDESK="$bin" start_on_fresh_copy "$label"
  local pid=$SERVER_PID
  load "$label-warm-$round" "$CONNS" 2s
  before="$(proc_counters "$pid")"
  read -r wrote_runtime wrote_file < <(thread_writes "$pid")
  load "$label-$round" "$CONNS" "$DURATION"
  after="$(proc_counters "$pid")"
  counters_per_request "$before" "$after" "$W_REQUESTS"
  read -r now_runtime now_file < <(thread_writes "$pid")
  local pages
  pages="$(awk -v r=$((now_runtime - wrote_runtime)) -v f=$((now_file - wrote_file)) -v n="$W_REQUESTS" \
    'BEGIN { printf "%.2f / %.2f", r / 4096 / n, f / 4096 / n }')"
  local wal
  wal="$(stat -c %s "$BENCH_TMP/bench.db-wal" 2>/dev/null || echo 0)"
  ROWS[$label,$round]="| $label | $round | $(fmt_int "$W_RPS") | $W_P50 ms | $W_P99 ms | $C_USER_US + $C_SYS_US µs | $pages | $(human_bytes "$wal") |"
  stop_pid "$pid" 30
}

for ((r = 1; r <= ROUNDS; r++)); do
  round A "$A_BIN" "$r"
  round B "$B_BIN" "$r"
done

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/posts-ab-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  what="Message posts"
  [[ -n ${BENCH_MIX:-} ]] && what="Mixed load ($BENCH_MIX: GET%, list%, post%)"
  echo "## $what A/B, $(wc -l <"$BENCH_TMP/open.ids") open tickets of $(sqlite3 "$SOURCE_DB" 'SELECT count(*) FROM tickets') ($DATE)"
  echo
  machine_info
  echo "- A: $A_BIN on ${BENCH_DB:-a generated database}; B: $B_BIN on ${BENCH_DB_B:-${BENCH_DB:-the same}}; $CONNS connections, $DURATION per round after a 2 s warm-up, rounds alternate"
  echo
  echo "| binary | round | req/s | p50 | p99 | server CPU per request (user + kernel) | 4 KiB pages written per request: runtime (log, responses) / checkpointer (database file) | log file after |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "${ROWS[A,$r]}"
    echo "${ROWS[B,$r]}"
  done
} | tee "$REPORT"

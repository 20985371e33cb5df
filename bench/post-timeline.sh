#!/usr/bin/env bash
# Message posts second by second from a fresh start: what one long run's p99 hides. Posts to
# random open tickets at 64 connections in BENCH_SLICES one-second wrk runs, on a fresh copy of a
# SQLite database, with the write-ahead log's size and restart count (its header's checkpoint
# sequence) after each: the first seconds grow the log file, and a restart holds writers briefly.
# From the server's /metrics, per slice: the average group commit (changes per commit) and how
# long writers waited for the checkpointer's last pass before restarts of the log; and the CPU
# time its checkpointer thread used (it shares the server's core with the requests).
#
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/post-timeline.sh
#   BENCH_SLICES=30 BENCH_TICKETS=1000000 bench/post-timeline.sh    # generates the database first
#
# Prints a Markdown table and saves it to bench/results/post-timeline-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SLICES="${BENCH_SLICES:-20}"
need wrk "apt-get install -y wrk"
need sqlite3 "apt-get install -y sqlite3"
need jq
need taskset
need od
need curl
build_release -p larkdesk
bench_tmpdir
source_database

start_on_fresh_copy larkdesk
# writer_counts: "commits changes hold_seconds", the SQLite writer's totals so far.
writer_counts() {
  curl -sf "$BASE_URL/metrics" | awk '
    $1 == "larkdesk_sqlite_group_commits_total" { c = $2 }
    $1 == "larkdesk_sqlite_committed_changes_total" { n = $2 }
    $1 == "larkdesk_sqlite_log_restart_hold_seconds_total" { h = $2 }
    END { print c + 0, n + 0, h + 0 }'
}
# The checkpointer thread's CPU time so far, in clock ticks (/proc's stat: utime + stime).
CHECKPOINTER="$(grep -lx sqlite-checkpoi /proc/"$SERVER_PID"/task/*/comm 2>/dev/null | head -1)"
[[ -n $CHECKPOINTER ]] || die "no sqlite-checkpoint thread in the server"
CHECKPOINTER="${CHECKPOINTER%/comm}/stat"
TICK_MS=$((1000 / $(getconf CLK_TCK)))
checkpointer_ticks() { awk '{ print $14 + $15 }' "$CHECKPOINTER"; }
ROWS=()
read -r commits changes hold <<<"$(writer_counts)"
ticks="$(checkpointer_ticks)"
for ((i = 1; i <= SLICES; i++)); do
  post_messages "slice-$i" 64 1s
  wal="$BENCH_TMP/bench.db-wal"
  restarts="$(wal_generation "$wal")"
  read -r commits2 changes2 hold2 <<<"$(writer_counts)"
  group="$(awk -v c=$((commits2 - commits)) -v n=$((changes2 - changes)) 'BEGIN { printf "%.1f", c ? n / c : 0 }')"
  held="$(awk -v a="$hold" -v b="$hold2" 'BEGIN { printf "%.1f", (b - a) * 1000 }')"
  ticks2="$(checkpointer_ticks)"
  commits=$commits2 changes=$changes2 hold=$hold2
  ROWS+=("| $i | $(fmt_int "$W_RPS") | $W_P50 ms | $W_P99 ms | $W_MAX ms | $(human_bytes "$(stat -c %s "$wal")") | $((restarts < 0 ? 0 : restarts)) | $group | $held ms | $(((ticks2 - ticks) * TICK_MS)) ms |")
  ticks=$ticks2
done
stop_pid "$SERVER_PID" 30

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/post-timeline-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Message posts second by second, $(wc -l <"$BENCH_TMP/open.ids") open tickets of $(sqlite3 "$SOURCE_DB" 'SELECT count(*) FROM tickets') ($DATE)"
  echo
  machine_info
  echo "- 64 connections, one-second wrk runs back to back from the server's start (no warm-up)"
  echo
  echo "| second | req/s | p50 | p99 | max | log file | log restarts | changes per commit | writers held at restarts | checkpointer CPU |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$REPORT"

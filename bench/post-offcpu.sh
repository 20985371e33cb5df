#!/usr/bin/env bash
# Where message posts wait rather than run: the server's runtime thread off the CPU. Posts to
# random open tickets at 64 connections for BENCH_DURATION (12s) on a fresh copy of a SQLite
# database, with the scheduler's context switches of the server recorded (`perf record -e
# sched:sched_switch -g`, after a 2 s warm-up); bench/offcpu.py pairs each switch-out of the
# runtime thread with its next switch-in and sums the time by the stack it left at. A posts
# p99 far above its p50 with the CPU not saturated shows up here as long waits in state D
# (the kernel waiting for the disk).
#
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/post-offcpu.sh
#   BENCH_RUNS=3 BENCH_TICKETS=1000000 bench/post-offcpu.sh      # generates the database first
#
# Needs perf (Debian: linux-perf) and permission to record scheduler events (root, or
# kernel.perf_event_paranoid <= 1). Prints a Markdown report per run and saves them to
# bench/results/post-offcpu-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-12s}"
RUNS="${BENCH_RUNS:-1}"
need wrk "apt-get install -y wrk"
need sqlite3 "apt-get install -y sqlite3"
need jq
need taskset
need perf "apt-get install -y linux-perf"
need python3
build_release -p larkdesk
bench_tmpdir
source_database

DATE="$(date +%F)"
REPORT="$RESULTS_DIR/post-offcpu-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Message posts off the CPU, $(sqlite3 "$SOURCE_DB" "SELECT count(*) FROM tickets") tickets on sqlite ($DATE)"
  echo
  machine_info
  echo "- 64 connections, $DURATION per run after a 2 s warm-up; scheduler switches recorded for all but the first and last second"
} | tee "$REPORT"

secs="${DURATION%s}"
for ((run = 1; run <= RUNS; run++)); do
  start_on_fresh_copy "larkdesk-$run"
  post_messages "warm-$run" 64 2s
  post_messages "posts-$run" 64 "$DURATION" &
  load=$!
  sleep 1
  perf record -q -e sched:sched_switch -g -o "$BENCH_TMP/perf.data" -p "$SERVER_PID" -- sleep $((secs - 2)) 2>/dev/null
  wait "$load"
  line="$(grep '^BENCH_RESULT' "$BENCH_TMP/wrk-posts-$run.txt" | tail -1)"
  perf script -i "$BENCH_TMP/perf.data" -F comm,tid,time,event,trace,ip,sym 2>/dev/null >"$BENCH_TMP/sched.txt"
  {
    echo
    echo "### Run $run: $(field rps "$line") posts a second, p50 $(field p50_ms "$line") ms, p99 $(field p99_ms "$line") ms"
    echo
    python3 "$BENCH_DIR/offcpu.py" "$BENCH_TMP/sched.txt"
  } | tee -a "$REPORT"
  stop_pid "$SERVER_PID" 10
done
log "saved $REPORT"

#!/usr/bin/env bash
# Pages of the SQLite file a message post writes, counted in the write-ahead log of a real run:
# BENCH_POSTS (3,000) POST /tickets/:id/messages to random open tickets at 64 connections,
# then the server is killed (kill -9 keeps its log as it was) and bench/wal-pages.py counts each
# commit's distinct pages by the table or index they belong to. Each of those pages is written
# to the log at its commit and to the database file at a checkpoint.
#
#   bench/pages-per-post.sh                               # 100k generated tickets
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/pages-per-post.sh   # reuse a database
#
# Keep runs short: the log must not start again during the run (the server does so once it
# holds 16,384 frames, about 5,000 posts), or its earlier commits are gone; the script refuses a
# log that did (its header's checkpoint sequence number changed). A count of posts, not a
# duration: a fast machine posts more than that in wrk's shortest run (1 s).
# Prints a Markdown table and saves it to bench/results/pages-per-post-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POSTS="${BENCH_POSTS:-3000}"
need wrk "apt-get install -y wrk"
need sqlite3 "apt-get install -y sqlite3"
need jq
need taskset
need python3
need od
build_release -p larkdesk
bench_tmpdir

source_database

DB="$BENCH_TMP/bench.db"
cp "$SOURCE_DB" "$DB"
rm -f "$DB-wal" "$DB-shm"
# Upgrade the copy (a database of an earlier version) and empty its log before counting.
start_larkdesk "sqlite://$DB" upgrade --no-rate-limit
stop_pid "$SERVER_PID" 30
BEFORE="$(sqlite3 "$DB" "SELECT count(*) FROM ticket_messages")"

start_larkdesk "sqlite://$DB" larkdesk --no-rate-limit
PID=$SERVER_PID
demo_auth "$SETUP_CREDS" "$BASE_URL"
GENERATION="$(wal_generation "$DB-wal")"
((GENERATION >= 0)) || GENERATION=0
# wrk runs its whole -d even when the script stops early: 5 s is plenty for 3,000 posts.
BENCH_MAX_REQUESTS="$POSTS" post_messages posts 64 5s
kill -KILL "$PID"
stop_pid "$PID" 5

REPORT="$RESULTS_DIR/pages-per-post-$(date +%F)${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
[[ "$(wal_generation "$DB-wal")" == "$GENERATION" ]] \
  || die "the log started again during the run, so it lacks the earlier posts: use fewer BENCH_POSTS"
TABLE="$(python3 "$BENCH_DIR/wal-pages.py" "$DB" "$DB-wal" "$BEFORE")" || die "counting the log failed"
{
  echo "## Pages a message post writes, $(wc -l <"$BENCH_TMP/open.ids") open tickets of $(sqlite3 "$SOURCE_DB" 'SELECT count(*) FROM tickets') ($(date +%F))"
  echo
  machine_info
  echo "- $(fmt_int "$W_REQUESTS") posts answered at 64 connections (p50 $W_P50 ms); page size $(sqlite3 "$DB" 'PRAGMA page_size') bytes"
  echo "$TABLE"
} | tee "$REPORT"

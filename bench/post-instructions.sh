#!/usr/bin/env bash
# What does a message post cost, counted rather than timed? For each configuration (a larkdesk
# binary), runs the server under callgrind on a fresh copy of one SQLite database, posts
# BENCH_POSTS (1,000) messages to random open tickets on 16 connections (so changes commit in
# groups, as under load), and reports the instructions per post, counted only while those posts
# ran (BENCH_WARM, 300, posts warm up first; after 300, a post still meets a guest the profile
# cache has not seen one time in three at 100k tickets, after 3,000 hardly: dfb46d2 counted 287k
# and 268k instructions a post). Configurations alternate BENCH_ROUNDS (1) times.
#
# Why: throughput on this VM drifts by tens of percent within an hour, more than most changes
# to the write path; instruction counts do not drift. What they leave out: the kernel (the
# log's writes, the checkpointer's copies and syncs), cache misses and waiting. Group sizes
# depend on timing, so counts vary a little between runs of one binary (see the rounds).
#
#   bench/post-instructions.sh LABEL=BIN...
#   bench/post-instructions.sh old=/tmp/old/larkdesk new=target/release/larkdesk
#   BENCH_DB=saved.db BENCH_CREDS=saved.creds.json bench/post-instructions.sh a=BIN b=BIN
#
# Without BENCH_DB, a database with BENCH_TICKETS (100k) generated tickets is made first (by the
# first binary). Prints a Markdown table and saves it to
# bench/results/post-instructions-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POSTS="${BENCH_POSTS:-1000}"
WARM="${BENCH_WARM:-300}"
ROUNDS="${BENCH_ROUNDS:-1}"
(($# > 0)) || die "usage: bench/post-instructions.sh LABEL=BIN..."
need valgrind
need callgrind_control
need wrk "apt-get install -y wrk"
need sqlite3 "apt-get install -y sqlite3"
need jq
for spec in "$@"; do
  [[ $spec =~ ^[^=]+=.+$ && -x ${spec#*=} ]] || die "not LABEL=BIN (an executable): $spec"
done
bench_tmpdir

first="${1#*=}"
LARKDESK="$(realpath "$first")" source_database

# measure LABEL BIN ROUND: appends "LABEL ROUND INSTRUCTIONS_PER_POST" to rows.txt.
measure() {
  local label=$1 bin=$2 round=$3 out="$BENCH_TMP/callgrind.out.$1.$3"
  log "$label, round $round: starting $bin under callgrind"
  SERVER_WRAPPER=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out")
  LARKDESK="$bin" BENCH_START_TIMEOUT=600 start_on_fresh_copy "callgrind-$label-$round" --no-event-delivery
  SERVER_WRAPPER=()
  local base=$BASE_URL
  posts "$base" "$WARM" >/dev/null
  callgrind_control -i on "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation on"
  local line
  line="$(posts "$base" "$POSTS")"
  callgrind_control -i off "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation off"
  [[ $(field requests "$line") -ge $POSTS && $(field non2xx "$line") == 0 ]] ||
    die "$label: not $POSTS posts answered 2xx: $line"
  stop_pid "$SERVER_PID" 120
  [[ -s $out ]] || die "callgrind wrote no profile to $out"
  # Only the posts counted are in the profile; the answers wrk counts past POSTS (requests in
  # flight when it stopped) were answered after instrumentation was off.
  awk -v n="$POSTS" -v label="$label" -v round="$round" '
    /^totals:/ { ir = $2 }
    END { printf "%s %d %.0f\n", label, round, ir / n }' "$out" >>"$BENCH_TMP/rows.txt"
  log "$label, round $round: $(tail -1 "$BENCH_TMP/rows.txt")"
}

# posts URL COUNT: the BENCH_RESULT line of COUNT message posts to random open tickets on 16
# connections. wrk would wait out its -d after the last answer; it is stopped (SIGINT, on which it
# reports) once auth.lua says COUNT came back.
posts() {
  local out="$BENCH_TMP/wrk-posts.txt" done="$BENCH_TMP/posts.done" pid i
  rm -f "$done"
  BENCH_IDS_FILE="$BENCH_TMP/open.ids" BENCH_ID_PATH_SUFFIX=/messages BENCH_METHOD=POST BENCH_BODY="$MESSAGE_BODY" \
    BENCH_MAX_REQUESTS="$2" BENCH_DONE_FILE="$done" \
    wrk -t1 -c16 -d3600s --timeout 60s -s "$BENCH_DIR/auth.lua" "$1" >"$out" 2>&1 &
  pid=$!
  BENCH_PIDS+=("$pid")
  for ((i = 0; i < 36000; i++)); do
    [[ -e $done ]] || ! alive "$pid" && break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  stop_pid "$pid"
  grep '^BENCH_RESULT' "$out" || { cat "$out" >&2; die "no BENCH_RESULT from wrk"; }
}

for ((round = 1; round <= ROUNDS; round++)); do
  for spec in "$@"; do
    measure "${spec%%=*}" "$(realpath "${spec#*=}")" "$round"
  done
done

DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/post-instructions-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Instructions per message post under callgrind ($DATE)"
  echo
  machine_info | grep -v '^- wrk'
  echo "- valgrind $(valgrind --version | sed 's/^valgrind-//'), callgrind; larkdesk \`--no-event-delivery --no-rate-limit\` on a fresh copy of a database of $(fmt_int "$(sqlite3 "$SOURCE_DB" "SELECT count(*) FROM tickets")") tickets; $(fmt_int "$POSTS") message posts to random open tickets on 16 connections (wrk) counted, after $WARM not counted; user space only"
  for spec in "$@"; do echo "- ${spec%%=*}: \`${spec#*=}\`"; done
  echo
  echo "| configuration | round | instructions / post |"
  echo "|---|---:|---:|"
  while read -r label round ir; do
    echo "| $label | $round | $(fmt_int "$ir") |"
  done <"$BENCH_TMP/rows.txt"
} | tee "$REPORT"
log "report saved to $REPORT"

# Shared helpers for bench/*.sh (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables set here are read by the scripts that source this file

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
# BENCH_LARKDESK_BIN: benchmark this larkdesk binary instead of building target/release/larkdesk
# (e.g. one built from a clean export of a commit while the work tree has changes in progress);
# BENCH_LARKDESK_LABEL says what it is in the reports.
LARKDESK="${BENCH_LARKDESK_BIN:-$REPO_ROOT/target/release/larkdesk}"
BASELINE="$REPO_ROOT/target/release/larkdesk-bench-baseline"
RESULTS_DIR="$BENCH_DIR/results"

# Which core the server runs on and which one wrk runs on (the machine has two).
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
CLIENT_CPU="${BENCH_CLIENT_CPU:-1}"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+ ($2)}"; }

# ---- process bookkeeping: every process started here is stopped on exit ----------------------
BENCH_PIDS=()
BENCH_TMP=""
BENCH_CLEANUP_HOOKS=()

bench_tmpdir() {
  BENCH_LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg)"
  BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/larkdesk-bench.XXXXXX")"
  damon_for_the_run
}

# ---- the kernel's proactive reclaim (DAMON) ----------------------------------------------------
# Some VMs run DAMON with a "pageout" scheme: page-cache pages no process maps, idle for a while
# (a minute on the VMs these benchmarks ran on), are dropped, up to a quota a second, however much
# memory is free. A database file copied or generated minutes before a run is then partly read
# back from disk while it is measured, and its log file (written, never mapped) too. Each report
# says whether it was on and what it dropped during the run; BENCH_DAMON=off turns it off for the
# run (root only) and back on at the end.
DAMON_ADMIN=/sys/kernel/mm/damon/admin/kdamonds
DAMON_TURNED_OFF=()
# damon_kdamonds: the kdamonds that are on and have a pageout scheme, one directory a line.
damon_kdamonds() {
  local k
  for k in "$DAMON_ADMIN"/[0-9]*; do
    [[ -r $k/state && $(cat "$k/state") == on ]] || continue
    grep -qx pageout "$k"/contexts/*/schemes/*/action 2>/dev/null && echo "$k"
  done
  return 0
}
# damon_paged_out: bytes the pageout schemes of running kdamonds have dropped since they started.
damon_paged_out() {
  local k total=0 f bytes
  while read -r k; do
    [[ -n $k ]] || continue
    echo update_schemes_stats >"$k/state" 2>/dev/null || true
    for f in "$k"/contexts/*/schemes/*/stats/sz_applied; do
      grep -qx pageout "${f%/stats/sz_applied}/action" 2>/dev/null || continue
      bytes="$(cat "$f" 2>/dev/null)" || continue
      [[ $bytes =~ ^[0-9]+$ ]] && total=$((total + bytes))
    done
  done < <(damon_kdamonds)
  echo "$total"
}
damon_for_the_run() {
  DAMON_TURNED_OFF=()
  if [[ ${BENCH_DAMON:-} == off ]]; then
    local k
    ((EUID == 0)) || die "BENCH_DAMON=off needs root (it writes to $DAMON_ADMIN)"
    while read -r k; do
      [[ -n $k ]] || continue
      echo off >"$k/state" 2>/dev/null || die "BENCH_DAMON=off: cannot turn $k off (root only)"
      DAMON_TURNED_OFF+=("$k")
      BENCH_CLEANUP_HOOKS+=("echo on >'$k/state'")
    done < <(damon_kdamonds)
  fi
  DAMON_PAGED_OUT_BEFORE="$(damon_paged_out)"
}
# damon_info: the report's line on it.
damon_info() {
  if ((${#DAMON_TURNED_OFF[@]} > 0)); then
    echo "- DAMON proactive reclaim (pageout): turned off for this run (BENCH_DAMON=off)"
  elif [[ -n $(damon_kdamonds) ]]; then
    local age
    age="$(damon_idle_seconds)"
    echo "- DAMON proactive reclaim (pageout of unmapped page-cache pages idle ${age:-for a while}): on; it dropped $(human_bytes $(($(damon_paged_out) - ${DAMON_PAGED_OUT_BEFORE:-0}))) during the run"
  fi
}
# damon_idle_seconds: how long a page is idle before the first running pageout scheme drops it.
damon_idle_seconds() {
  local k ctx scheme ages us
  k="$(damon_kdamonds | head -1)"
  [[ -n $k ]] || return 0
  for scheme in "$k"/contexts/*/schemes/*; do
    [[ $(cat "$scheme/action" 2>/dev/null) == pageout ]] || continue
    ctx="${scheme%/schemes/*}"
    ages="$(cat "$scheme/access_pattern/age/min" 2>/dev/null)" || return 0
    us="$(cat "$ctx/monitoring_attrs/intervals/aggr_us" 2>/dev/null)" || return 0
    awk -v ages="$ages" -v us="$us" 'BEGIN { printf "%g s", ages * us / 1e6 }'
    return 0
  done
}

# alive PID: running (not exited, nor an exited child waiting to be reaped).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]
}

# stop_pid PID [SECONDS]: SIGTERM, wait (default 15 s), then SIGKILL; forget the pid.
stop_pid() {
  local pid=$1 grace=${2:-15} i p kept=()
  for p in "${BENCH_PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  BENCH_PIDS=("${kept[@]}")
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "process $pid did not stop in ${grace}s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# interruptible CMD...: run CMD in the background and wait for it, so that a signal to the script
# is handled at once instead of after CMD ends (the cleanup then stops CMD); CMD's exit status.
interruptible() {
  "$@" &
  local pid=$! status=0
  BENCH_PIDS+=("$pid")
  wait "$pid" || status=$?
  stop_pid "$pid"
  return "$status"
}

bench_cleanup() {
  local status=$? pid hook
  trap - EXIT INT TERM
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid" 5; done
  for hook in "${BENCH_CLEANUP_HOOKS[@]}"; do eval "$hook" || true; done
  if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
    if [[ -n ${BENCH_KEEP:-} ]]; then
      log "kept $BENCH_TMP"
    else
      rm -rf "$BENCH_TMP"
    fi
  fi
  exit "$status"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- building ---------------------------------------------------------------------------------
# build_release -p CRATE...: cargo build --release; larkdesk is left out when BENCH_LARKDESK_BIN
# is set, and nothing is built when BENCH_NO_BUILD is set.
build_release() {
  local args=() a
  for a in "$@"; do
    [[ $a == larkdesk && -n ${BENCH_LARKDESK_BIN:-} ]] && { args=("${args[@]:0:${#args[@]}-1}"); continue; }
    args+=("$a")
  done
  if [[ -z ${BENCH_NO_BUILD:-} && ${#args[@]} -gt 0 ]]; then
    log "building release binaries: ${args[*]}"
    (cd "$REPO_ROOT" && cargo build --release --quiet "${args[@]}") || die "cargo build failed"
  fi
  [[ -x $LARKDESK ]] || die "no larkdesk binary at $LARKDESK"
}

# ---- servers ------------------------------------------------------------------------------------
# start_larkdesk DATABASE_URL NAME [extra serve args...]
# Starts larkdesk on 127.0.0.1:<free port>, pinned to $SERVER_CPU, unless BENCH_NO_PIN is set,
# or under the command of the array SERVER_WRAPPER instead if it has one (callgrind, say).
# Sets SERVER_PID, BASE_URL and CREDS (the credentials file; it has the demo credentials on the
# first start against an empty database). The request journal is off (LARKDESK_JOURNAL=0)
# unless set: the demo turns it on, and benchmarks measure the server without it.
SERVER_WRAPPER=()
start_larkdesk() {
  local db_url=$1 name=$2
  shift 2
  CREDS="$BENCH_TMP/$name.creds.json"
  rm -f "$CREDS"
  local pin=(taskset -c "$SERVER_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  ((${#SERVER_WRAPPER[@]} > 0)) && pin=("${SERVER_WRAPPER[@]}")
  LARKDESK_JOURNAL="${LARKDESK_JOURNAL:-0}" LARKDESK_LOG="${LARKDESK_LOG:-warn}" "${pin[@]}" "$LARKDESK" --database-url "$db_url" serve \
    --bind 127.0.0.1:0 --credentials-file "$CREDS" "$@" \
    >"$BENCH_TMP/$name.stdout" 2>"$BENCH_TMP/$name.stderr" &
  SERVER_PID=$!
  BENCH_PIDS+=("$SERVER_PID")
  wait_for_creds "$SERVER_PID" "$CREDS" "$name" "${BENCH_START_TIMEOUT:-120}"
  BASE_URL="$(jq -r .base_url "$CREDS")"
}

# wait_for_creds PID FILE NAME TIMEOUT: the credentials file is written once the server listens.
wait_for_creds() {
  local pid=$1 file=$2 name=$3 timeout=$4 i
  for ((i = 0; i < timeout * 10; i++)); do
    if [[ -s $file ]] && jq -e .base_url "$file" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$BENCH_TMP/$name.stderr" >&2 || true
      die "$name exited before listening"
    fi
    sleep 0.1
  done
  die "$name did not start listening within ${timeout}s"
}

# start_baseline NAME: sets SERVER_PID and BASE_URL.
start_baseline() {
  local name=$1 port i
  port="$(free_port)"
  local pin=(taskset -c "$SERVER_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  "${pin[@]}" "$BASELINE" "127.0.0.1:$port" >"$BENCH_TMP/$name.stdout" 2>"$BENCH_TMP/$name.stderr" &
  SERVER_PID=$!
  BENCH_PIDS+=("$SERVER_PID")
  BASE_URL="http://127.0.0.1:$port"
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$BASE_URL/" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$BENCH_TMP/$name.stderr" >&2; die "$name exited"; }
    sleep 0.1
  done
  die "$name did not start listening"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

# peak_rss_kb PID: VmHWM (the peak resident set size) from /proc.
peak_rss_kb() {
  awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# proc_counters PID: "USER_TICKS SYS_TICKS VOLUNTARY_CS INVOLUNTARY_CS" of the whole process (CPU
# time includes threads that ended; context switches are summed over the live threads).
proc_counters() {
  local pid=$1 times cs
  times="$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12, $13}')" || { echo "0 0 0 0"; return; }
  cs="$(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '
    /^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}')"
  echo "$times $cs"
}

# thread_writes PID: "RUNTIME_BYTES CHECKPOINTER_BYTES", the bytes the process's runtime threads
# and its SQLite checkpointer passed to write calls (`wchar` of /proc/PID/task/*/io): the
# write-ahead log's frames and the responses, and the pages copied into the database file.
thread_writes() {
  local t runtime=0 checkpointer=0 name bytes
  for t in /proc/"$1"/task/*; do
    name="$(cat "$t/comm" 2>/dev/null)" || continue
    bytes="$(awk '/^wchar:/ {print $2}' "$t/io" 2>/dev/null)" || continue
    case $name in
      tokio-rt-worker*) runtime=$((runtime + ${bytes:-0})) ;;
      sqlite-checkpoi*) checkpointer=$((checkpointer + ${bytes:-0})) ;;
    esac
  done
  echo "$runtime $checkpointer"
}

# counters_per_request BEFORE AFTER REQUESTS: sets C_USER_US C_SYS_US (CPU µs per request) and
# C_CS (context switches per request, voluntary + involuntary).
counters_per_request() {
  local hz
  hz="$(getconf CLK_TCK)"
  read -r C_USER_US C_SYS_US C_CS < <(awk -v hz="$hz" -v n="$3" -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    printf "%.1f %.1f %.2f\n", (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) * 1e6 / hz / n, (y[3] + y[4] - x[3] - x[4]) / n }')
}

# start_demo_servers: larkdesk on a fresh SQLite database with the demo installation (rate limits
# off) and the baseline, both pinned like every server here. Sets LARKDESK_PID and TICKET_URL (the
# demo's populated ticket), BASELINE_PID and BASELINE_URL, and the auth headers (demo_auth).
start_demo_servers() {
  log "starting larkdesk"
  start_larkdesk "sqlite://$BENCH_TMP/bench.db" larkdesk --no-rate-limit
  LARKDESK_PID=$SERVER_PID
  demo_auth "$CREDS" "$BASE_URL"
  TICKET_URL="$BASE_URL/open-apis/helpdesk/v1/tickets/${TICKET_IDS[1]}"
  check_ok "$TICKET_URL"
  log "starting the baseline"
  start_baseline baseline
  BASELINE_PID=$SERVER_PID
  BASELINE_URL="$BASE_URL/open-apis/helpdesk/v1/tickets/${TICKET_IDS[1]}"
}

# ---- credentials --------------------------------------------------------------------------------
# demo_auth CREDS BASE_URL: exports BENCH_AUTHORIZATION and BENCH_HELPDESK_AUTH for auth.lua and
# sets HELPDESK_ID, TICKET_IDS (array).
demo_auth() {
  local creds=$1 base=$2 body token
  body="$(jq -c '{app_id: .demo.app_id, app_secret: .demo.app_secret}' "$creds")"
  token="$(curl -sf -X POST "$base/open-apis/auth/v3/tenant_access_token/internal" \
    -H 'Content-Type: application/json' -d "$body" | jq -r .tenant_access_token)"
  [[ -n $token && $token != null ]] || die "could not get a tenant_access_token from $base"
  HELPDESK_ID="$(jq -r .demo.helpdesk_id "$creds")"
  mapfile -t TICKET_IDS < <(jq -r '.demo.ticket_ids[]' "$creds")
  export BENCH_AUTHORIZATION="Bearer $token"
  export BENCH_HELPDESK_AUTH
  BENCH_HELPDESK_AUTH="$(printf '%s:%s' "$HELPDESK_ID" "$(jq -r .demo.helpdesk_token "$creds")" | base64 -w0)"
}

# check_ok URL: one authenticated request must answer HTTP 200.
check_ok() {
  local url=$1 out
  out="$(curl -s -w '\n%{http_code}' "$url" -H "Authorization: ${BENCH_AUTHORIZATION:-}" \
    -H "X-Lark-Helpdesk-Authorization: ${BENCH_HELPDESK_AUTH:-}")"
  [[ ${out##*$'\n'} == 200 ]] || die "GET $url answered ${out##*$'\n'}: ${out%$'\n'*}"
}

# wal_generation FILE: the checkpoint sequence number in a SQLite log's header (-1 without a log);
# it changes each time the log starts again.
wal_generation() {
  local n
  n="$(od -An -tu4 --endian=big -j12 -N4 "$1" 2>/dev/null | tr -d ' ')"
  echo "${n:--1}"
}

# ---- a SQLite database of generated tickets, for the message-post scripts --------------------
# source_database: sets SOURCE_DB and SETUP_CREDS (the credentials file of its first start) and
# writes the ids of its open tickets (status < 50) to $BENCH_TMP/open.ids. BENCH_DB and BENCH_CREDS
# name a database to reuse; without them, one with BENCH_TICKETS (100k) tickets is made in
# $BENCH_TMP by $LARKDESK (with BENCH_OPEN_LATEST, generated with --open-latest).
source_database() {
  SOURCE_DB="${BENCH_DB:-}"
  SETUP_CREDS="${BENCH_CREDS:-}"
  if [[ -n $SOURCE_DB ]]; then
    [[ -s $SETUP_CREDS ]] || die "BENCH_DB needs BENCH_CREDS: the credentials file of its first start"
  else
    SOURCE_DB="$BENCH_TMP/source.db"
    start_larkdesk "sqlite://$SOURCE_DB" setup --no-rate-limit
    SETUP_CREDS="$CREDS"
    stop_pid "$SERVER_PID" 10
    log "loading ${BENCH_TICKETS:-100000} tickets"
    LARKDESK_LOG=warn "$LARKDESK" --database-url "sqlite://$SOURCE_DB" admin generate-tickets \
      --helpdesk-id "$(jq -r .demo.helpdesk_id "$CREDS")" --count "${BENCH_TICKETS:-100000}" \
      ${BENCH_OPEN_LATEST:+--open-latest} >/dev/null
  fi
  sqlite3 "$SOURCE_DB" "SELECT ticket_id FROM tickets WHERE status < 50" >"$BENCH_TMP/open.ids"
}

# fresh_database BACKEND: sets DB to the URL of a new database and defines query SQL (its rows,
# one a line): $BENCH_TMP/bench.db on sqlite; on postgres larkdesk_bench_<random> on the server
# of BENCH_POSTGRES_URL (an admin URL), dropped when the script ends (also on failure).
# shellcheck disable=SC2317 # query is called by the scripts that source this
fresh_database() {
  if [[ $1 == postgres ]]; then
    [[ -n ${BENCH_POSTGRES_URL:-} ]] || die "BENCH_BACKEND=postgres needs BENCH_POSTGRES_URL (an admin URL)"
    PG_DB="larkdesk_bench_$RANDOM$RANDOM"
    psql -q "$BENCH_POSTGRES_URL" -c "CREATE DATABASE $PG_DB" || die "cannot create database $PG_DB"
    BENCH_CLEANUP_HOOKS+=("psql -q '$BENCH_POSTGRES_URL' -c 'DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)'")
    DB="${BENCH_POSTGRES_URL%/*}/$PG_DB"
    query() { psql -At "$DB" -c "$1"; }
  else
    DB="sqlite://$BENCH_TMP/bench.db"
    query() { sqlite3 "$BENCH_TMP/bench.db" "$1"; }
  fi
}

# start_on_fresh_copy NAME [extra serve args...]: copies $SOURCE_DB to $BENCH_TMP/bench.db without
# its log, written back to disk first (not by the kernel's flusher in the middle of a measured
# run), starts $LARKDESK on it (start_larkdesk, --no-rate-limit) and asks the demo app's token
# anew (demo_auth with $SETUP_CREDS).
start_on_fresh_copy() {
  cp "$SOURCE_DB" "$BENCH_TMP/bench.db"
  rm -f "$BENCH_TMP/bench.db-wal" "$BENCH_TMP/bench.db-shm"
  sync
  start_larkdesk "sqlite://$BENCH_TMP/bench.db" "$1" --no-rate-limit "${@:2}"
  demo_auth "$SETUP_CREDS" "$BASE_URL"
}

# The message the post benchmarks send.
MESSAGE_BODY='{"msg_type":"text","content":{"text":"Thanks, we are looking into it."}}'

# post_messages LABEL CONNECTIONS DURATION: run_wrk POSTing MESSAGE_BODY to random tickets of
# $BENCH_TMP/open.ids on the server at $BASE_URL.
post_messages() {
  BENCH_IDS_FILE="$BENCH_TMP/open.ids" BENCH_ID_PATH_SUFFIX=/messages BENCH_METHOD=POST BENCH_BODY="$MESSAGE_BODY" \
    run_wrk "$1" "$2" "$3" "$BASE_URL"
}

# ---- wrk ----------------------------------------------------------------------------------------
# run_wrk LABEL CONNECTIONS DURATION URL: runs wrk pinned to $CLIENT_CPU with auth.lua and sets
# W_RPS W_P50 W_P90 W_P99 W_MAX W_REQUESTS W_NON2XX W_ERRORS. The full output goes to
# $BENCH_TMP/wrk-LABEL.txt.
run_wrk() {
  local label=$1 conns=$2 duration=$3 url=$4 out line
  out="$BENCH_TMP/wrk-$label.txt"
  local pin=(taskset -c "$CLIENT_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  interruptible "${pin[@]}" wrk -t1 -c"$conns" -d"$duration" --timeout "${BENCH_WRK_TIMEOUT:-30s}" --latency -s "$BENCH_DIR/auth.lua" "$url" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed ($label)"; }
  line="$(grep '^BENCH_RESULT' "$out" | tail -1)" || { cat "$out" >&2; die "no BENCH_RESULT from wrk ($label)"; }
  W_REQUESTS="$(field requests "$line")"
  W_RPS="$(field rps "$line")"
  W_P50="$(field p50_ms "$line")"
  W_P90="$(field p90_ms "$line")"
  W_P99="$(field p99_ms "$line")"
  W_MAX="$(field max_ms "$line")"
  W_NON2XX="$(field non2xx "$line")"
  W_ERRORS="$(field socket_errors "$line")"
  if [[ $W_NON2XX != 0 ]]; then
    log "WARNING: $label: $W_NON2XX of $W_REQUESTS responses were not 2xx"
  fi
  if [[ $W_ERRORS != 0 ]]; then
    log "WARNING: $label: $W_ERRORS socket errors or timeouts (not in the latency figures)"
  fi
  log "$label: ${W_RPS} req/s  p50 ${W_P50} ms  p99 ${W_P99} ms  (non-2xx $W_NON2XX, socket errors $W_ERRORS)"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# warm_up URL [SECONDS]: a short wrk run whose numbers are thrown away.
warm_up() {
  local url=$1 secs=${2:-${BENCH_WARMUP:-2}} pin=(taskset -c "$CLIENT_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  interruptible "${pin[@]}" wrk -t1 -c"${BENCH_WARMUP_CONNS:-64}" -d"${secs}s" -s "$BENCH_DIR/auth.lua" "$url" >/dev/null 2>&1 \
    || die "warm-up against $url failed"
}

# ---- formatting ---------------------------------------------------------------------------------
# median NUMBERS...: the middle value (the mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# storage_reads PID: bytes the process has had read from storage (not the page cache), 0 if unknown.
storage_reads() {
  awk '/^read_bytes:/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/io" 2>/dev/null || echo 0
}
# nth N VALUES...: the Nth of the values (1-based).
nth() { local n=$1; shift; printf '%s' "${!n}"; }
fmt_int() { printf "%'.0f" "$1" 2>/dev/null || printf '%s' "$1"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
human_bytes() {
  awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u); i = 1; while (b >= 1024 && i < 5) { b /= 1024; i++ } printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'
}

machine_info() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  if [[ -n ${BENCH_LARKDESK_BIN:-} ]]; then
    echo "- larkdesk: ${BENCH_LARKDESK_LABEL:-$BENCH_LARKDESK_BIN}"
  else
    echo "- larkdesk: work tree at $(cd "$REPO_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO_ROOT" && git diff --quiet HEAD -- crates Cargo.lock 2>/dev/null || echo ' with uncommitted changes in crates/')"
  fi
  echo "- Load average when the run started: ${BENCH_LOADAVG:-$(cut -d' ' -f1-3 /proc/loadavg)}"
  damon_info
  echo "- wrk: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); server pinned to CPU $SERVER_CPU, wrk (1 thread) pinned to CPU $CLIENT_CPU"
}

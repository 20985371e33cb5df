#!/usr/bin/env bash
# Is a change to the read path faster? Two larkdesk binaries, each on its own SQLite database,
# serve GET ticket at the same fixed offered rate (bench/loadgen, open loop) in alternating
# rounds, a fresh server each time: e.g. the commit before a storage change on a 1M database and
# the commit after on a copy of it (which its migrations upgrade at the first start). At a fixed
# rate both see the same share of ticket-cache hits, and server CPU per request is comparable.
#
#   bench/ab-get.sh A_BIN A_DB_FILE B_BIN B_DB_FILE A_CREDS_JSON [B_CREDS_JSON]
#
# A_CREDS_JSON: the credentials file written at the first start of A's database (serve
# --credentials-file); B_CREDS_JSON likewise for B's, or A's when B's database is a copy of A's.
# Each side GETs random ids from a sample of BENCH_SAMPLE_IDS (10000) of its own database's
# tickets, so the script also compares one binary on two databases (e.g. 10k and 1M tickets).
# BENCH_AB_ROUNDS (5), BENCH_AB_RATE (3000 req/s), BENCH_AB_CONNECTIONS (64), BENCH_DURATION (10s).
# BENCH_AB_LOCK_DB=1 holds both files in memory while measured (vmtouch -l), so that neither
# reads from the disk. Prints a Markdown report and saves it to
# bench/results/ab-get-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 5 || $# == 6)) || die "usage: bench/ab-get.sh A_BIN A_DB_FILE B_BIN B_DB_FILE A_CREDS_JSON [B_CREDS_JSON]"
declare -A BIN=([A]=$1 [B]=$3) DB=([A]=$2 [B]=$4) CREDS=([A]=$5 [B]=${6:-$5})
ROUNDS="${BENCH_AB_ROUNDS:-5}"
RATE="${BENCH_AB_RATE:-3000}"
CONNS="${BENCH_AB_CONNECTIONS:-64}"
DURATION="${BENCH_DURATION:-10s}"
SAMPLE_IDS="${BENCH_SAMPLE_IDS:-10000}"
LOADGEN="$REPO_ROOT/target/release/larkdesk-bench-loadgen"
for side in A B; do
  [[ -x ${BIN[$side]} ]] || die "$side: no binary at ${BIN[$side]}"
  [[ -f ${DB[$side]} ]] || die "$side: no database file at ${DB[$side]}"
  [[ -f ${CREDS[$side]} ]] || die "$side: no credentials file at ${CREDS[$side]}"
done
[[ $RATE =~ ^[0-9]+$ ]] || die "BENCH_AB_RATE must be a whole number of requests per second"
need taskset
need jq
need curl
need sqlite3 "apt-get install -y sqlite3"
[[ -n ${BENCH_AB_LOCK_DB:-} ]] && need vmtouch "apt-get install -y vmtouch"
build_release -p larkdesk-bench-loadgen
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN"

bench_tmpdir
if [[ -n ${BENCH_AB_LOCK_DB:-} ]]; then
  vmtouch -q -l "${DB[A]}" "${DB[B]}" &
  BENCH_PIDS+=($!)  # stopped, and the files unlocked, on exit
  log "locking both database files in memory"
  # vmtouch reads the files before it locks them; wait until they are resident.
  for _ in $(seq 600); do
    [[ "$(vmtouch "${DB[A]}" "${DB[B]}" | awk '/Resident Pages/ { print $NF }')" == 100% ]] && break
    sleep 1
  done
fi
for side in A B; do
  sqlite3 "file:${DB[$side]}?mode=ro" \
    "SELECT '/open-apis/helpdesk/v1/tickets/' || ticket_id FROM tickets ORDER BY random() LIMIT $SAMPLE_IDS" \
    >"$BENCH_TMP/paths-$side.txt"
  [[ -s $BENCH_TMP/paths-$side.txt ]] || die "no tickets in ${DB[$side]}"
done

# cpu_ticks: "TOTAL STEAL" jiffies of all CPUs (/proc/stat). Steal is time the hypervisor gave
# this VM's virtual CPUs to someone else; a run with much of it measured the neighbours.
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9 }' /proc/stat; }

declare -A R=()
# measure SIDE ROUND: a fresh server on SIDE's database, a fixed-rate run, its CPU per request.
measure() {
  local side=$1 round=$2 out line c0 c1
  out="$BENCH_TMP/loadgen-$side-r$round.txt"
  LARKDESK=${BIN[$side]} start_larkdesk "sqlite://${DB[$side]}" "$side-r$round" --no-rate-limit --no-event-delivery
  demo_auth "${CREDS[$side]}" "$BASE_URL"
  local url
  url="$BASE_URL$(head -1 "$BENCH_TMP/paths-$side.txt")"
  check_ok "$url"
  c0="$(proc_counters "$SERVER_PID")"
  local t0 t1
  t0="$(cpu_ticks)"
  interruptible taskset -c "$CLIENT_CPU" "$LOADGEN" --url "$url" --paths-file "$BENCH_TMP/paths-$side.txt" \
    --rate "$RATE" --connections "$CONNS" --duration "${DURATION%s}" --warmup 2 \
    --header "Authorization: $BENCH_AUTHORIZATION" \
    --header "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" >"$out" 2>&1 \
    || { cat "$out" >&2; die "load generator failed ($side)"; }
  c1="$(proc_counters "$SERVER_PID")"
  t1="$(cpu_ticks)"
  line="$(grep '^BENCH_RESULT' "$out" | tail -1)" || { cat "$out" >&2; die "no BENCH_RESULT ($side)"; }
  [[ "$(field non2xx "$line")" == 0 ]] || die "$side: $(field non2xx "$line") responses were not 2xx"
  counters_per_request "$c0" "$c1" "$(awk -v r="$RATE" -v d="${DURATION%s}" 'BEGIN { print r * (d + 2) }')"
  R[$side,rps]+=" $(field rps "$line")" R[$side,p50]+=" $(field p50_ms "$line")"
  R[$side,p99]+=" $(field p99_ms "$line")" R[$side,p999]+=" $(field p999_ms "$line")"
  R[$side,cpu]+=" $(awk -v u="$C_USER_US" -v s="$C_SYS_US" 'BEGIN { printf "%.1f", u + s }')"
  R[$side,sys]+=" $C_SYS_US"
  R[$side,steal]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { split(a, x, " "); split(b, y, " ")
    printf "%.1f", (y[1] > x[1]) ? (y[2] - x[2]) * 100 / (y[1] - x[1]) : 0 }')"
  log "$side r$round: p50 $(field p50_ms "$line") p99 $(field p99_ms "$line") ms, CPU $C_USER_US + $C_SYS_US µs per request"
  stop_pid "$SERVER_PID"
}

for ((round = 1; round <= ROUNDS; round++)); do
  # Alternate which side goes first, so that neither always runs after the other.
  if ((round % 2)); then measure A "$round"; measure B "$round"; else measure B "$round"; measure A "$round"; fi
done

med() { read -ra v <<<"${R[$1,$2]}"; median "${v[@]}"; }
change() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }'; }
DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/ab-get-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## GET ticket A/B at a fixed $(fmt_int "$RATE") req/s ($DATE)"
  echo
  machine_info | grep -v '^- larkdesk\|^- wrk'
  for side in A B; do
    echo "- $side: \`${BIN[$side]}\` on \`${DB[$side]}\` ($(human_bytes "$(stat -c %s "${DB[$side]}")"), $(fmt_int "$(sqlite3 "file:${DB[$side]}?mode=ro" "SELECT count(*) FROM tickets")") tickets)"
  done
  echo "- bench/loadgen (open loop) over $CONNS connections, $DURATION after a 2 s warm-up, random ids from a sample of $SAMPLE_IDS of each side's tickets; server pinned to CPU $SERVER_CPU, load generator to CPU $CLIENT_CPU; \`--no-rate-limit\`; server CPU per request includes the warm-up"
  [[ -n ${BENCH_AB_LOCK_DB:-} ]] && echo "- Both database files held in memory (\`vmtouch -l\`)"
  echo "- $ROUNDS rounds, alternating which side goes first; medians over the rounds"
  echo
  echo "| side | achieved req/s | p50 | p99 | p99.9 | server CPU per request | of which system |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for side in A B; do
    echo "| $side | $(med "$side" rps) | $(med "$side" p50) ms | $(med "$side" p99) ms | $(med "$side" p999) ms | $(med "$side" cpu) µs | $(med "$side" sys) µs |"
  done
  echo
  echo "B vs A (medians): p50 $(change "$(med A p50)" "$(med B p50)"), p99 $(change "$(med A p99)" "$(med B p99)"), CPU per request $(change "$(med A cpu)" "$(med B cpu)")."
  echo
  echo "Per round (A → B; steal: % of both CPUs' time the hypervisor gave to other guests during the run):"
  for key in p50 p99 cpu steal; do
    read -ra a <<<"${R[A,$key]}"
    read -ra b <<<"${R[B,$key]}"
    printf -- "- %s:" "$key"
    for ((i = 0; i < ${#a[@]}; i++)); do printf " %s → %s;" "${a[i]}" "${b[i]}"; done
    echo
  done
} | tee "$REPORT"
log "report saved to $REPORT"

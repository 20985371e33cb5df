#!/usr/bin/env bash
# What does a GET ticket that misses the ticket cache cost, counted rather than timed? For each
# configuration (a larkdesk binary on a SQLite database), runs the server under callgrind with
# its cache simulation (--cache-sim=yes: first-level and last-level cache misses, as valgrind
# models this machine's caches) and --ticket-cache-ms 0, sends BENCH_CACHESIM_REQUESTS (2000) GETs
# of random tickets over one keep-alive connection, and reports instructions and simulated cache
# misses per request, counted only while those requests ran (200 GETs warm up first).
#
# Why: the VM's CPU time per request drifts by ±10% between runs minutes apart (other guests
# take up to a quarter of its CPUs), and it has no hardware counters (`perf stat`: cycles "not
# supported"); counts do not drift. What the counts leave out: the kernel is not simulated (the
# copies that SQLite's pread makes into its page cache are not counted, the server reading the
# copied pages is), and requests run one at a time, so nothing competes for the caches.
#
#   bench/cachesim.sh LABEL=BIN,DB_FILE,CREDS_JSON[,SERVE_ARGS]...
#   bench/cachesim.sh old-10k=/tmp/old/larkdesk,/data/10k.db,/data/10k.json new-10k=target/release/larkdesk,...
#   BENCH_CACHESIM_CACHED=1 bench/cachesim.sh on=BIN,DB,CREDS off=BIN,DB,CREDS,--no-metrics
#
# CREDS_JSON: the credentials file written at the database's first start (--credentials-file).
# SERVE_ARGS: more `serve` flags for this configuration, separated by spaces.
# BENCH_CACHESIM_CACHED=1: the cached path instead: every GET asks for the same ticket, served
# from the rendered-ticket cache (`--ticket-cache-ms 86400000`), after the first.
# BENCH_CACHESIM_DEFAULT_CACHE=1: random tickets with the cache at its default, as bench/writes.sh
# asks for them (each ticket once: misses that also pass through the cache).
# Each database is read as it is (a binary with newer migrations upgrades it at start: copy it
# first). Prints a Markdown table and saves it to bench/results/cachesim-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${BENCH_CACHESIM_REQUESTS:-2000}"
WARM=200
(($# > 0)) || die "usage: bench/cachesim.sh LABEL=BIN,DB_FILE,CREDS_JSON..."
need valgrind
need callgrind_control
need sqlite3 "apt-get install -y sqlite3"
need jq
need curl
for spec in "$@"; do
  [[ $spec =~ ^[^=]+=[^,]+,[^,]+,[^,]+(,[^,]*)?$ ]] || die "not LABEL=BIN,DB_FILE,CREDS_JSON[,SERVE_ARGS]: $spec"
done
if [[ -n ${BENCH_CACHESIM_CACHED:-} ]]; then
  CACHE_ARGS=(--ticket-cache-ms 86400000)
  WHAT="cached GET ticket (one ticket, served from the rendered-ticket cache)"
elif [[ -n ${BENCH_CACHESIM_DEFAULT_CACHE:-} ]]; then
  CACHE_ARGS=()
  WHAT="GET of random tickets, the ticket cache at its default"
else
  CACHE_ARGS=(--ticket-cache-ms 0)
  WHAT="uncached GET ticket"
fi
bench_tmpdir

# measure LABEL BIN DB CREDS [SERVE_ARGS]: appends "LABEL TICKETS IR D1MISS LLMISS" (per request)
# to rows.txt.
measure() {
  local label=$1 bin=$2 db=$3 creds=$4 out="$BENCH_TMP/callgrind.out.$1"
  local -a extra
  read -r -a extra <<<"${5:-}"
  [[ -x $bin && -f $db && -f $creds ]] || die "$label: missing binary, database or credentials file"
  local tickets
  tickets="$(sqlite3 "file:$db?mode=ro" "SELECT count(*) FROM tickets")"
  log "$label: starting $bin under callgrind on $db ($(fmt_int "$tickets") tickets)"
  local name="cachesim-$label"
  SERVER_WRAPPER=(valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes --callgrind-out-file="$out")
  LARKDESK="$bin" BENCH_START_TIMEOUT=600 start_larkdesk "sqlite://$db" "$name" \
    --no-event-delivery --no-rate-limit "${CACHE_ARGS[@]}" "${extra[@]}"
  SERVER_WRAPPER=()
  demo_auth "$creds" "$BASE_URL"
  local base=$BASE_URL
  # Random tickets of this database, the warm-up's first; one keep-alive connection (curl -K).
  local cfg="$BENCH_TMP/$name" i
  {
    echo 'silent'
    echo "header = \"Authorization: $BENCH_AUTHORIZATION\""
    echo "header = \"X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH\""
    printf '%s\n' 'write-out = "%{http_code}\n"'
  } | tee "$cfg.warm" >"$cfg.measured"
  if [[ -n ${BENCH_CACHESIM_CACHED:-} ]]; then
    local one
    one="$(sqlite3 "file:$db?mode=ro" "SELECT ticket_id FROM tickets ORDER BY random() LIMIT 1")"
    local k
    for ((k = 0; k < N + WARM; k++)); do echo "$one"; done >"$cfg.ids"
  else
    sqlite3 "file:$db?mode=ro" "SELECT ticket_id FROM tickets ORDER BY random() LIMIT $((N + WARM))" >"$cfg.ids"
  fi
  ((WARM + N <= $(wc -l <"$cfg.ids"))) || die "$label: fewer than $((N + WARM)) tickets in $db"
  local part
  i=0
  while read -r id; do
    part=measured
    ((i++ < WARM)) && part=warm
    printf 'url = "%s/open-apis/helpdesk/v1/tickets/%s"\noutput = "/dev/null"\n' "$base" "$id" >>"$cfg.$part"
  done <"$cfg.ids"
  interruptible curl -K "$cfg.warm" >"$cfg.warm.codes"
  callgrind_control -i on "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation on"
  interruptible curl -K "$cfg.measured" >"$cfg.codes"
  callgrind_control -i off "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation off"
  local ok
  ok="$(grep -c '^200$' "$cfg.codes" || true)"
  [[ $ok == "$N" ]] || die "$label: only $ok of $N requests answered 200"
  stop_pid "$SERVER_PID" 120
  [[ -s $out ]] || die "callgrind wrote no profile to $out"
  # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw; totals (or summary) in the same order.
  awk -v n="$N" -v label="$label" -v tickets="$tickets" '
    /^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
    /^(summary|totals):/ { for (i = 2; i <= NF; i++) v[i - 1] = $i }
    END {
      printf "%s %d %.0f %.0f %.0f\n", label, tickets, v[col["Ir"]] / n,
        (v[col["D1mr"]] + v[col["D1mw"]]) / n, (v[col["DLmr"]] + v[col["DLmw"]]) / n
    }' "$out" >>"$BENCH_TMP/rows.txt"
  log "$label: $(tail -1 "$BENCH_TMP/rows.txt")"
}

for spec in "$@"; do
  label=${spec%%=*}
  IFS=, read -r bin db creds args <<<"${spec#*=}"
  measure "$label" "$bin" "$db" "$creds" "${args:-}"
done

DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/cachesim-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## $WHAT under callgrind's cache simulation ($DATE)"
  echo
  machine_info | grep -v '^- larkdesk\|^- wrk'
  echo "- valgrind $(valgrind --version | sed 's/^valgrind-//'), callgrind \`--cache-sim=yes\`; larkdesk \`${CACHE_ARGS[*]} --no-rate-limit\`; $(fmt_int "$N") GETs (${WHAT}) over one keep-alive connection after $WARM not counted"
  for spec in "$@"; do echo "- ${spec%%=*}: \`${spec#*=}\`"; done
  echo
  echo "| configuration | tickets | instructions / GET | L1 data misses / GET | last-level misses / GET |"
  echo "|---|---:|---:|---:|---:|"
  while read -r label tickets ir d1 ll; do
    echo "| $label | $(fmt_int "$tickets") | $(fmt_int "$ir") | $(fmt_int "$d1") | $(fmt_int "$ll") |"
  done <"$BENCH_TMP/rows.txt"
} | tee "$REPORT"
log "report saved to $REPORT"

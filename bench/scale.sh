#!/usr/bin/env bash
# Does larkdesk stay fast as the ticket count grows? For SQLite (and PostgreSQL when
# BENCH_POSTGRES_URL is set): load 10k tickets with `larkdesk admin generate-tickets`, measure
# GET ticket (random ids) and the filtered list, then grow to BENCH_TICKETS and measure again.
# The 10k database is kept as a copy, and the two sizes are measured in alternating rounds
# (BENCH_SCALE_ROUNDS, 3 by default; medians reported): the VM's speed drifts by tens of percent
# within minutes, which a single 10k run followed by a single 1M run would take for growth.
#
#   bench/scale.sh                                    # 10k -> 1M on SQLite
#   BENCH_TICKETS=20000 bench/scale.sh                # a quick run
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres bench/scale.sh
#   BENCH_BACKENDS=postgres BENCH_POSTGRES_URL=... bench/scale.sh
#
# The PostgreSQL URL must name a database the user can connect to and have CREATEDB: the run
# creates larkdesk_bench_<random>, and drops it at the end (also on failure).
# Servers are pinned to CPU 0 and wrk to CPU 1 (as in throughput.sh); the generator is not pinned.
# Also measures both at 1 connection (latency without queueing).
# With BENCH_SCALE_GET_RATE=N, GET is also measured at a fixed N req/s over the same connections
# (open loop, bench/loadgen): under wrk's closed loop a server that answers fewer requests per
# second also finds fewer of them in its 1 s ticket cache, so a small difference per request is
# amplified; at a fixed rate both sizes see the same share of cache hits.
# The report gives the storage reads (bytes the server read from the disk, not from the page
# cache) per GET on SQLite: a VM that reclaims page cache leaves part of a 4 GiB database on
# its virtual disk. BENCH_SCALE_LOCK_DB=1 holds both SQLite files in memory while they are
# measured (`vmtouch -l`; apt-get install -y vmtouch), so that the two sizes differ only in size.
# Prints Markdown tables and saves them to bench/results/scale-<date>-<count>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMALL="${BENCH_SMALL_TICKETS:-10000}"
LARGE="${BENCH_TICKETS:-1000000}"
DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_SCALE_CONNECTIONS:-64}"
LIST_CONNS="${BENCH_LIST_CONNECTIONS:-$CONNS}"
UNLOADED_DURATION="${BENCH_UNLOADED_DURATION:-5s}"  # the 1-connection runs (latency without queueing)
ROUNDS="${BENCH_SCALE_ROUNDS:-3}"
SAMPLE_IDS="${BENCH_SAMPLE_IDS:-10000}"
GET_RATE="${BENCH_SCALE_GET_RATE:-}"
LOCK_DB="${BENCH_SCALE_LOCK_DB:-}"
LOADGEN="$REPO_ROOT/target/release/larkdesk-bench-loadgen"
[[ -z $GET_RATE || $GET_RATE =~ ^[0-9]+$ ]] || die "BENCH_SCALE_GET_RATE must be a whole number of requests per second"
# How many generator batches are written at once (`generate-tickets --jobs`); unset, the
# generator's default for the backend (1 on SQLite, one per core on PostgreSQL).
GEN_JOBS="${BENCH_GEN_JOBS:-}"
[[ -z $GEN_JOBS || $GEN_JOBS =~ ^[1-9][0-9]*$ ]] || die "BENCH_GEN_JOBS must be a positive whole number"
# How often the generator prints a progress line (the report lists them: the load rate as the
# database grows).
PROGRESS_EVERY="${BENCH_PROGRESS_EVERY:-$((LARGE >= 5000000 ? 500000 : 100000))}"
LIST_QUERY="status_list=51&page_size=20"  # the one list whose total the report shows
# The list workload: 25 filtered pages (3 closed statuses and both together, one ticket type;
# pages 1-5 of 20), one picked at random per request. A rendered page and its filter's total are
# remembered until the next write (see ticket_cache.rs), so the first run mostly measures that
# cache; the "cold" runs restart the server with --ticket-cache-ms 0 so that every request
# counts its total and reads and renders its page.
list_queries() {
  local page q
  for page in 1 2 3 4 5; do
    for q in status_list=50 status_list=51 status_list=52 "status_list=51&status_list=52" type=2; do
      echo "$q&page_size=20&page=$page"
    done
  done
}
BACKENDS="${BENCH_BACKENDS:-sqlite${BENCH_POSTGRES_URL:+ postgres}}"
# Targets.
FLAT_PCT=20     # GET p99 at LARGE within 20% of SMALL
LIST_P99_MS=20  # filtered list p99 at LARGE on SQLite
RSS_GROWTH=1.5  # "RSS independent of the ticket count": peak RSS at LARGE at most 1.5x SMALL

((LARGE > SMALL)) || die "BENCH_TICKETS ($LARGE) must be larger than $SMALL"
need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
for backend in $BACKENDS; do
  case $backend in
    sqlite)
      need sqlite3 "apt-get install -y sqlite3"
      [[ -n $LOCK_DB ]] && need vmtouch "apt-get install -y vmtouch"
      ;;
    postgres)
      [[ -n ${BENCH_POSTGRES_URL:-} ]] || die "the postgres backend needs BENCH_POSTGRES_URL"
      need psql "apt-get install -y postgresql-client"
      ;;
    *) die "unknown backend $backend (sqlite or postgres)" ;;
  esac
done
if [[ -n $GET_RATE ]]; then build_release -p larkdesk -p larkdesk-bench-loadgen; else build_release -p larkdesk; fi
[[ -z $GET_RATE || -x $LOADGEN ]] || die "no load generator at $LOADGEN"
if ! "$LARKDESK" admin --help 2>/dev/null | grep -q 'generate-tickets'; then
  die "this larkdesk has no 'admin generate-tickets' command yet; scale.sh needs it to load tickets
       (expected: larkdesk --database-url URL admin generate-tickets --helpdesk-id ID --count N)"
fi
GEN_HAS_SEED=0
"$LARKDESK" admin generate-tickets --help 2>/dev/null | grep -q -- '--seed' && GEN_HAS_SEED=1
GEN_HAS_PROGRESS=0
"$LARKDESK" admin generate-tickets --help 2>/dev/null | grep -q -- '--progress-every' && GEN_HAS_PROGRESS=1
GEN_HAS_JOBS=0
"$LARKDESK" admin generate-tickets --help 2>/dev/null | grep -q -- '--jobs' && GEN_HAS_JOBS=1
[[ -z $GEN_JOBS || $GEN_HAS_JOBS == 1 ]] || die "BENCH_GEN_JOBS is set but this larkdesk's generate-tickets has no --jobs"
bench_tmpdir

# ---- database helpers ---------------------------------------------------------------------------
PG_DB="" PG_SMALL_DB=""
pg_url_with_db() { # URL DB: the same server and user, another database
  local url=$1 db=$2 query="" rest
  if [[ $url == *\?* ]]; then query="?${url#*\?}"; url=${url%%\?*}; fi
  rest=${url#*://}
  if [[ $rest == */* ]]; then url="${url%/*}/$db"; else url="$url/$db"; fi
  echo "$url$query"
}
pg_drop() {
  local db
  for db in $PG_DB $PG_SMALL_DB; do
    if psql "$BENCH_POSTGRES_URL" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; then
      log "dropped database $db"
    else
      log "WARNING: could not drop database $db"
    fi
  done
  PG_DB="" PG_SMALL_DB=""
}
BENCH_CLEANUP_HOOKS+=(pg_drop)

db_size_bytes() { # BACKEND
  case $1 in
    sqlite)
      local f total=0
      for f in "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"; do
        [[ -f $f ]] && total=$((total + $(stat -c %s "$f")))
      done
      echo "$total"
      ;;
    postgres) psql "$DB_URL" -qAt -c "SELECT pg_database_size(current_database())" ;;
  esac
}
sample_ids() { # BACKEND COUNT FILE
  local q="SELECT ticket_id FROM tickets ORDER BY random() LIMIT $2"
  case $1 in
    sqlite) sqlite3 "$DB_FILE" "$q" >"$3" ;;
    postgres) psql "$DB_URL" -qAt -c "$q" >"$3" ;;
  esac
  [[ -s $3 ]] || die "no ticket ids in the database"
}
ticket_count() {
  local q="SELECT count(*) FROM tickets"
  case $1 in
    sqlite) sqlite3 "$DB_FILE" "$q" ;;
    postgres) psql "$DB_URL" -qAt -c "$q" ;;
  esac
}

# generate BACKEND COUNT STAGE: sets G_RATE, G_JOBS and G_RSS_KB. The generator runs in the background
# (so a signal to this script is handled at once, and the cleanup stops it) while its peak RSS
# is sampled from /proc.
generate() {
  local backend=$1 count=$2 stage=$3
  local out="$BENCH_TMP/gen-$backend-$stage.json" err="$BENCH_TMP/gen-$backend-$stage.stderr"
  log "$backend: generating $(fmt_int "$count") tickets"
  # Each run gets its own seed: the generator derives its ticket ids from the seed, so a second
  # run with the same seed collides with the first ("conflict: ticket_id already exists").
  local opts=()
  [[ $GEN_HAS_SEED == 1 ]] && opts=(--seed "$((RANDOM * 32768 + RANDOM + 1))")
  [[ $GEN_HAS_PROGRESS == 1 ]] && opts+=(--progress-every "$PROGRESS_EVERY")
  [[ -n $GEN_JOBS ]] && opts+=(--jobs "$GEN_JOBS")
  LARKDESK_LOG=warn "$LARKDESK" --database-url "$DB_URL" admin generate-tickets \
    --helpdesk-id "$HELPDESK_ID" --count "$count" "${opts[@]}" >"$out" 2>"$err" &
  local pid=$! hwm=0 now status=0
  BENCH_PIDS+=("$pid")
  while alive "$pid"; do
    now="$(peak_rss_kb "$pid")"
    [[ ${now:-0} -gt $hwm ]] && hwm=$now
    sleep 0.5
  done
  wait "$pid" || status=$?
  stop_pid "$pid" # forget it
  ((status == 0)) || { tail -5 "$err" >&2; die "generate-tickets failed (exit $status)"; }
  G_RATE="$(jq -r '.per_second' "$out" 2>/dev/null | tail -1)"
  [[ $G_RATE =~ ^[0-9.]+$ ]] || die "generate-tickets printed no JSON: $(cat "$out")"
  G_JOBS="$(jq -r '.jobs // 1' "$out" 2>/dev/null | tail -1)"
  G_RSS_KB=$hwm
  log "$backend: $(fmt_int "$G_RATE") tickets/s, $G_JOBS batch(es) at once (generator peak RSS $(mib "$G_RSS_KB"))"
}

# measure BACKEND STAGE: start the server, measure GET (random ids) and the list, stop it.
declare -A R
measure() {
  local backend=$1 stage=$2 round=$3
  # The helpers below read DB_URL and DB_FILE: this stage's database, for this call only.
  local DB_URL=${STAGE_URL[$stage]} DB_FILE=${STAGE_FILE[$stage]:-}
  local ids="$BENCH_TMP/ids-$backend-$stage.txt"
  R[$backend,$stage,tickets]="$(ticket_count "$backend")"
  R[$backend,$stage,db]="$(db_size_bytes "$backend")"
  sample_ids "$backend" "$SAMPLE_IDS" "$ids"
  # Pages the load left for the kernel to write back: their writeback competes with the run.
  ((round == 1)) && R[$backend,$stage,dirty]="$(awk '/^Dirty:/ { print $2 }' /proc/meminfo)"
  start_larkdesk "$DB_URL" "$backend-$stage-r$round" --no-rate-limit --no-event-delivery
  local base=$BASE_URL
  demo_auth "$FIRST_CREDS" "$base"
  check_ok "$base/open-apis/helpdesk/v1/tickets/$(head -1 "$ids")"
  check_ok "$base/open-apis/helpdesk/v1/tickets?$LIST_QUERY"
  local get_url
  get_url="$base/open-apis/helpdesk/v1/tickets/$(head -1 "$ids")"

  export BENCH_IDS_FILE=$ids
  local read0
  read0="$(storage_reads "$SERVER_PID")"
  loaded_and_unloaded get "$CONNS" "$get_url"
  # SQLite reads in the server's own threads; PostgreSQL in its own processes (not counted).
  if [[ $backend == sqlite ]]; then
    R[$backend,$stage,get_read]+=" $(awk -v a="$read0" -v b="$(storage_reads "$SERVER_PID")" -v n="$LU_REQUESTS" \
      'BEGIN { printf "%.2f", (b - a) / 1024 / n }')"
  fi
  unset BENCH_IDS_FILE
  [[ -n $GET_RATE ]] && get_at_fixed_rate "$get_url" "$ids"

  local list_url="$base/open-apis/helpdesk/v1/tickets?$LIST_QUERY"
  list_queries >"$BENCH_TMP/list-queries.txt"
  export BENCH_IDS_FILE="$BENCH_TMP/list-queries.txt" BENCH_ID_PATH_PREFIX="/open-apis/helpdesk/v1/tickets?"
  loaded_and_unloaded list "$LIST_CONNS" "$list_url"
  R[$backend,$stage,list_total]="$(curl -s "$list_url" -H "Authorization: $BENCH_AUTHORIZATION" \
    -H "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" | jq -r '.data.total // "?"')"
  local rss
  rss="$(peak_rss_kb "$SERVER_PID")"
  ((rss > ${R[$backend,$stage,rss]:-0})) && R[$backend,$stage,rss]=$rss
  stop_pid "$SERVER_PID"

  # No caches: every request counts its total and reads and renders its page, as the first
  # request of each page after a write does.
  start_larkdesk "$DB_URL" "$backend-$stage-r$round-cold" --no-rate-limit --no-event-delivery --ticket-cache-ms 0
  list_url="$BASE_URL/open-apis/helpdesk/v1/tickets?$LIST_QUERY"
  check_ok "$list_url"
  loaded_and_unloaded cold "$LIST_CONNS" "$list_url"
  stop_pid "$SERVER_PID"
  unset BENCH_IDS_FILE BENCH_ID_PATH_PREFIX
}

# loaded_and_unloaded KIND CONNS URL: a warm-up, then CONNS connections for DURATION and one for
# UNLOADED_DURATION; sets R[backend,stage,KIND_*] and R[backend,stage,KIND1_*] for the caller's
# backend and stage, and LU_REQUESTS to the requests the two runs measured.
loaded_and_unloaded() {
  local kind=$1 conns=$2 url=$3
  BENCH_WARMUP_CONNS=$conns warm_up "$url"
  run_wrk "$backend-$stage-r$round-$kind" "$conns" "$DURATION" "$url"
  LU_REQUESTS=$W_REQUESTS
  R[$backend,$stage,${kind}_rps]+=" $W_RPS" R[$backend,$stage,${kind}_p50]+=" $W_P50" R[$backend,$stage,${kind}_p99]+=" $W_P99"
  R[$backend,$stage,${kind}_bad]=$((${R[$backend,$stage,${kind}_bad]:-0} + W_NON2XX))
  R[$backend,$stage,${kind}_err]=$((${R[$backend,$stage,${kind}_err]:-0} + W_ERRORS))
  run_wrk "$backend-$stage-r$round-$kind-c1" 1 "$UNLOADED_DURATION" "$url"
  LU_REQUESTS=$((LU_REQUESTS + W_REQUESTS))
  R[$backend,$stage,${kind}1_p50]+=" $W_P50" R[$backend,$stage,${kind}1_p99]+=" $W_P99"
  R[$backend,$stage,${kind}1_bad]=$((${R[$backend,$stage,${kind}1_bad]:-0} + W_NON2XX))
  R[$backend,$stage,${kind}1_err]=$((${R[$backend,$stage,${kind}1_err]:-0} + W_ERRORS))
}

# get_at_fixed_rate URL IDS: GET random ids at GET_RATE req/s over CONNS connections (open
# loop); sets R[backend,stage,fixed_*] for the caller's backend and stage.
get_at_fixed_rate() {
  local url=$1 ids=$2 out="$BENCH_TMP/loadgen-$backend-$stage-r$round.txt" line c0 c1
  sed 's|^|/open-apis/helpdesk/v1/tickets/|' "$ids" >"$BENCH_TMP/paths.txt"
  local pin=(taskset -c "$CLIENT_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  c0="$(proc_counters "$SERVER_PID")"
  interruptible "${pin[@]}" "$LOADGEN" --url "$url" --paths-file "$BENCH_TMP/paths.txt" --rate "$GET_RATE" \
    --connections "$CONNS" --duration "${DURATION%s}" --warmup 2 \
    --header "Authorization: $BENCH_AUTHORIZATION" \
    --header "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" >"$out" 2>&1 \
    || { cat "$out" >&2; die "load generator failed ($backend $stage)"; }
  c1="$(proc_counters "$SERVER_PID")"
  line="$(grep '^BENCH_RESULT' "$out" | tail -1)" || { cat "$out" >&2; die "no BENCH_RESULT ($backend $stage)"; }
  [[ "$(field non2xx "$line")" == 0 ]] || die "$backend $stage at $GET_RATE req/s: $(field non2xx "$line") responses were not 2xx"
  # The server's CPU per request, warm-up included (its requests are counted too).
  counters_per_request "$c0" "$c1" "$(awk -v r="$GET_RATE" -v d="${DURATION%s}" 'BEGIN { print r * (d + 2) }')"
  R[$backend,$stage,fixed_rps]+=" $(field rps "$line")" R[$backend,$stage,fixed_p50]+=" $(field p50_ms "$line")"
  R[$backend,$stage,fixed_p99]+=" $(field p99_ms "$line")" R[$backend,$stage,fixed_p999]+=" $(field p999_ms "$line")"
  R[$backend,$stage,fixed_cpu]+=" $(awk -v u="$C_USER_US" -v s="$C_SYS_US" 'BEGIN { printf "%.1f", u + s }')"
  log "$backend-$stage-r$round at $GET_RATE req/s: p50 $(field p50_ms "$line") p99 $(field p99_ms "$line") ms, server CPU $C_USER_US + $C_SYS_US µs per request"
}

run_backend() {
  local backend=$1
  case $backend in
    sqlite)
      DB_FILE="$BENCH_TMP/scale.db"
      DB_URL="sqlite://$DB_FILE"
      ;;
    postgres)
      PG_DB="larkdesk_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
      psql "$BENCH_POSTGRES_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_DB" >/dev/null \
        || die "could not create database $PG_DB through $BENCH_POSTGRES_URL"
      log "created database $PG_DB"
      DB_URL="$(pg_url_with_db "$BENCH_POSTGRES_URL" "$PG_DB")"
      ;;
  esac
  # The first start creates the schema and the demo installation (whose helpdesk gets the tickets).
  start_larkdesk "$DB_URL" "$backend-init" --no-event-delivery
  FIRST_CREDS=$CREDS
  HELPDESK_ID="$(jq -r .demo.helpdesk_id "$FIRST_CREDS")"
  stop_pid "$SERVER_PID"

  generate "$backend" "$SMALL" small
  R[$backend,small,rate]=$G_RATE R[$backend,small,jobs]=$G_JOBS R[$backend,small,gen_rss]=$G_RSS_KB
  # Keep the small database as it is, then grow the original.
  declare -gA STAGE_URL=() STAGE_FILE=()
  case $backend in
    sqlite)
      STAGE_FILE[small]="$BENCH_TMP/scale-small.db"
      sqlite3 "$DB_FILE" ".backup '${STAGE_FILE[small]}'"
      STAGE_URL[small]="sqlite://${STAGE_FILE[small]}"
      STAGE_FILE[large]=$DB_FILE
      ;;
    postgres)
      PG_SMALL_DB="${PG_DB}_small"
      psql "$BENCH_POSTGRES_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_SMALL_DB TEMPLATE $PG_DB" >/dev/null \
        || die "could not copy database $PG_DB"
      STAGE_URL[small]="$(pg_url_with_db "$BENCH_POSTGRES_URL" "$PG_SMALL_DB")"
      ;;
  esac
  STAGE_URL[large]=$DB_URL
  generate "$backend" "$((LARGE - SMALL))" large
  R[$backend,large,rate]=$G_RATE R[$backend,large,jobs]=$G_JOBS R[$backend,large,gen_rss]=$G_RSS_KB
  local round lockers=()
  if [[ $backend == sqlite && -n $LOCK_DB ]]; then
    local f
    for f in "${STAGE_FILE[small]}" "${STAGE_FILE[large]}"; do
      vmtouch -l -q "$f" &
      lockers+=($!)
      BENCH_PIDS+=($!)
    done
    log "holding both databases in memory (vmtouch -l)"
  fi
  for ((round = 1; round <= ROUNDS; round++)); do
    measure "$backend" small "$round"
    measure "$backend" large "$round"
  done
  for f in "${lockers[@]}"; do stop_pid "$f"; done
  [[ $backend == postgres ]] && pg_drop
  return 0
}

for backend in $BACKENDS; do run_backend "$backend"; done

# ---- report -------------------------------------------------------------------------------------
# med KEY: the median of the per-round values in R[KEY] (the mean of the two middle ones for an
# even count).
med() {
  # shellcheck disable=SC2086 # the values are space-separated on purpose
  printf '%s\n' ${R[$1]} | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# per_round BACKEND KIND UNIT: "small → large UNIT" for each round, separated by "; ".
per_round() {
  paste -d' ' <(tr ' ' '\n' <<<"${R[$1,small,$2]# }") <(tr ' ' '\n' <<<"${R[$1,large,$2]# }") |
    awk -v unit="$3" '{ printf "%s%s → %s %s", (NR > 1 ? "; " : ""), $1, $2, unit }'
}
verdict() { if [[ $1 == 1 ]]; then echo "**met**"; else echo "**not met**"; fi; }
short_count() { awk -v n="$1" 'BEGIN { if (n >= 1e6 && n % 1e6 == 0) printf "%dM", n / 1e6; else if (n >= 1e3 && n % 1e3 == 0) printf "%dk", n / 1e3; else printf "%d", n }'; }
DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/scale-$DATE-$(short_count "$LARGE")${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## Scale: $(short_count "$SMALL") vs $(short_count "$LARGE") tickets ($DATE)"
  echo
  machine_info
  echo "- GET ticket: random ids from a sample of $SAMPLE_IDS; list: 25 filtered pages at random (\`status_list\` 50, 51, 52, 51+52 or \`type=2\`; \`page\` 1-5, \`page_size=20\`), each page rendered and each total counted once and then remembered (\"no cache\": \`--ticket-cache-ms 0\`, every request counts and renders); \"list total\" is that of \`$LIST_QUERY\`; wrk ${CONNS} connections (list: ${LIST_CONNS}), ${DURATION} after a 2 s warm-up; \`--no-rate-limit\`"
  echo "- Load rate: \`larkdesk admin generate-tickets\` (its own JSON line), unpinned; the large stage adds $(fmt_int "$((LARGE - SMALL))") tickets to the first $(fmt_int "$SMALL"), whose database was copied first"
  [[ -n $LOCK_DB && $BACKENDS == *sqlite* ]] && echo "- SQLite: both database files held in memory while measured (\`vmtouch -l\`, \`BENCH_SCALE_LOCK_DB\`)"
  echo "- ${ROUNDS} rounds, each measuring the $(short_count "$SMALL") copy and then the $(short_count "$LARGE") database (a fresh server each time); every latency and req/s figure is the median over the rounds"
  echo
  echo "| backend | tickets | load rate | DB size | GET req/s | GET p50 | GET p99 | list req/s | list p50 | list p99 | list, no cache: req/s | p50 | p99 | list total | server peak RSS | generator peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for backend in $BACKENDS; do
    for stage in small large; do
      printf '| %s | %s | %s/s | %s | %s | %s ms | %s ms | %s | %s ms | %s ms | %s | %s ms | %s ms | %s | %s | %s |\n' "$backend" \
        "$(fmt_int "${R[$backend,$stage,tickets]}")" "$(fmt_int "${R[$backend,$stage,rate]}")" \
        "$(human_bytes "${R[$backend,$stage,db]}")" "$(fmt_int "$(med "$backend,$stage,get_rps")")" \
        "$(med "$backend,$stage,get_p50")" "$(med "$backend,$stage,get_p99")" "$(fmt_int "$(med "$backend,$stage,list_rps")")" \
        "$(med "$backend,$stage,list_p50")" "$(med "$backend,$stage,list_p99")" \
        "$(fmt_int "$(med "$backend,$stage,cold_rps")")" "$(med "$backend,$stage,cold_p50")" "$(med "$backend,$stage,cold_p99")" \
        "${R[$backend,$stage,list_total]}" "$(mib "${R[$backend,$stage,rss]}")" "$(mib "${R[$backend,$stage,gen_rss]}")"
    done
  done
  echo
  for backend in $BACKENDS; do
    echo "GET p99 per round, $backend ($(short_count "$SMALL") → $(short_count "$LARGE")): $(per_round "$backend" get_p99 ms); at 1 connection: $(per_round "$backend" get1_p99 ms)."
    echo
  done
  if [[ -n $GET_RATE ]]; then
    echo "GET at a fixed $(fmt_int "$GET_RATE") req/s over ${CONNS} connections (bench/loadgen, open loop: latency from each request's scheduled time; ${DURATION} after a 2 s warm-up; server CPU per request includes the warm-up):"
    echo
    echo "| backend | tickets | achieved req/s | p50 | p99 | p99.9 | server CPU per request |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for backend in $BACKENDS; do
      for stage in small large; do
        printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s µs |\n' "$backend" "$(fmt_int "${R[$backend,$stage,tickets]}")" \
          "$(fmt_int "$(med "$backend,$stage,fixed_rps")")" "$(med "$backend,$stage,fixed_p50")" "$(med "$backend,$stage,fixed_p99")" \
          "$(med "$backend,$stage,fixed_p999")" "$(med "$backend,$stage,fixed_cpu")"
      done
      echo
      echo "p99 per round at $(fmt_int "$GET_RATE") req/s, $backend: $(per_round "$backend" fixed_p99 ms)."
      echo
    done
  fi
  if [[ $BACKENDS == *sqlite* ]]; then
    echo "Storage reads per GET on SQLite (the server's \`read_bytes\` of /proc/PID/io over the GET runs, warm-up included, per measured request; reads served from the page cache do not count), per round: $(per_round sqlite get_read KiB)."
    echo
  fi
  echo "Latency without queueing (1 connection, ${UNLOADED_DURATION}):"
  echo
  echo "| backend | tickets | GET p50 | GET p99 | list p50 | list p99 | list p50, no cache (\`--ticket-cache-ms 0\`) | its p99 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for backend in $BACKENDS; do
    for stage in small large; do
      printf '| %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms |\n' "$backend" "$(fmt_int "${R[$backend,$stage,tickets]}")" \
        "$(med "$backend,$stage,get1_p50")" "$(med "$backend,$stage,get1_p99")" "$(med "$backend,$stage,list1_p50")" "$(med "$backend,$stage,list1_p99")" \
        "$(med "$backend,$stage,cold1_p50")" "$(med "$backend,$stage,cold1_p99")"
    done
  done
  echo
  line=""
  for backend in $BACKENDS; do
    for stage in small large; do
      line+="${line:+, }$backend at $(fmt_int "${R[$backend,$stage,tickets]}") tickets: $(mib "${R[$backend,$stage,dirty]}")"
    done
  done
  echo "Dirty page cache (\`Dirty:\` of /proc/meminfo, not yet written back) when each stage's first round started: $line."
  echo
  line=""
  for backend in $BACKENDS; do
    line+="${line:+, }$backend ${R[$backend,small,jobs]} and ${R[$backend,large,jobs]}"
  done
  echo "Generator batches written at once (\`--jobs\`; small and large stage): $line."
  echo
  for backend in $BACKENDS; do
    progress="$BENCH_TMP/gen-$backend-large.stderr"
    if grep -q '^generate-tickets: ' "$progress" 2>/dev/null; then
      echo "Load progress, $backend (the generator's own lines; the counts are of the tickets it added to the $(short_count "$SMALL") copy):"
      echo
      grep '^generate-tickets: ' "$progress" | sed 's/^generate-tickets: /- /'
      echo
    fi
  done
  for backend in $BACKENDS; do
    for stage in small large; do
      for kind in get list get1 list1 cold cold1; do
        [[ ${R[$backend,$stage,${kind}_bad]} == 0 ]] ||
          echo "WARNING: $backend $stage $kind: ${R[$backend,$stage,${kind}_bad]} non-2xx responses."
        [[ ${R[$backend,$stage,${kind}_err]} == 0 ]] ||
          echo "WARNING: $backend $stage $kind: ${R[$backend,$stage,${kind}_err]} socket errors or timeouts (${BENCH_WRK_TIMEOUT:-30s}); they are not in the latency figures."
      done
    done
  done
  echo
  echo "| target | backend | measured | |"
  echo "|---|---|---:|---|"
  for backend in $BACKENDS; do
    growth1="$(awk -v a="$(med "$backend,small,get1_p99")" -v b="$(med "$backend,large,get1_p99")" 'BEGIN { printf "%+.1f", 100 * (b - a) / a }')"
    growth="$(awk -v a="$(med "$backend,small,get_p99")" -v b="$(med "$backend,large,get_p99")" 'BEGIN { printf "%+.1f", 100 * (b - a) / a }')"
    echo "| GET p99 flat within ${FLAT_PCT}% from $(short_count "$SMALL") to $(short_count "$LARGE"), ${CONNS} connections | $backend | $(med "$backend,small,get_p99") → $(med "$backend,large,get_p99") ms (${growth}%) | $(verdict "$(awk -v g="$growth" -v t="$FLAT_PCT" 'BEGIN { print (g <= t) }')") |"
    echo "| (the same at 1 connection) | $backend | $(med "$backend,small,get1_p99") → $(med "$backend,large,get1_p99") ms (${growth1}%) | $(verdict "$(awk -v g="$growth1" -v t="$FLAT_PCT" 'BEGIN { print (g <= t) }')") |"
    if [[ -n $GET_RATE ]]; then
      fixed_growth="$(awk -v a="$(med "$backend,small,fixed_p99")" -v b="$(med "$backend,large,fixed_p99")" 'BEGIN { printf "%+.1f", 100 * (b - a) / a }')"
      echo "| (the same at a fixed $(fmt_int "$GET_RATE") req/s, ${CONNS} connections) | $backend | $(med "$backend,small,fixed_p99") → $(med "$backend,large,fixed_p99") ms (${fixed_growth}%) | $(verdict "$(awk -v g="$fixed_growth" -v t="$FLAT_PCT" 'BEGIN { print (g <= t) }')") |"
    fi
    if [[ $backend == sqlite ]]; then
      echo "| filtered list p99 < ${LIST_P99_MS} ms at $(short_count "$LARGE"), ${LIST_CONNS} connections | sqlite | $(med "sqlite,large,list_p99") ms | $(verdict "$(awk -v p="$(med "sqlite,large,list_p99")" -v t="$LIST_P99_MS" 'BEGIN { print (p < t) }')") |"
      echo "| (the same at 1 connection) | sqlite | $(med "sqlite,large,list1_p99") ms | $(verdict "$(awk -v p="$(med "sqlite,large,list1_p99")" -v t="$LIST_P99_MS" 'BEGIN { print (p < t) }')") |"
      echo "| (the same without caches, ${LIST_CONNS} connections) | sqlite | $(med "sqlite,large,cold_p99") ms | $(verdict "$(awk -v p="$(med "sqlite,large,cold_p99")" -v t="$LIST_P99_MS" 'BEGIN { print (p < t) }')") |"
      echo "| (the same without caches, 1 connection) | sqlite | $(med "sqlite,large,cold1_p99") ms | $(verdict "$(awk -v p="$(med "sqlite,large,cold1_p99")" -v t="$LIST_P99_MS" 'BEGIN { print (p < t) }')") |"
    else
      echo "| filtered list p99 at $(short_count "$LARGE") (no target) | $backend | $(med "$backend,large,list_p99") ms | |"
    fi
    rss_ratio="$(awk -v a="${R[$backend,small,rss]}" -v b="${R[$backend,large,rss]}" 'BEGIN { printf "%.2f", b / a }')"
    echo "| server RSS independent of the ticket count (≤ ${RSS_GROWTH}×) | $backend | $(mib "${R[$backend,small,rss]}") → $(mib "${R[$backend,large,rss]}") (${rss_ratio}×) | $(verdict "$(awk -v r="$rss_ratio" -v t="$RSS_GROWTH" 'BEGIN { print (r <= t) }')") |"
  done
} | tee "$REPORT"
log "saved $REPORT"

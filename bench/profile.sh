#!/usr/bin/env bash
# Where does a GET ticket spend its time? Runs larkdesk under callgrind, sends N GET ticket
# requests over one keep-alive connection, and summarizes the instructions executed while (and
# only while) those requests ran: start-up, migrations and shutdown are not counted.
#
#   bench/profile.sh                            # N=2000; modes nolimit, limits, baseline
#   BENCH_PROFILE_REQUESTS=500 BENCH_PROFILE_MODES=nolimit bench/profile.sh
#
# Modes: "nolimit" runs with --no-rate-limit (as bench/throughput.sh does); "limits" runs with
# the default rate limits, get_ticket raised to 1,000,000/s so no request is refused but the
# limiter still runs on every request (what production pays); "baseline" profiles
# bench/baseline the same way, to show what the HTTP stack alone costs per request.
# Output: the summary on stdout and in bench/results/profile-<date>[-$BENCH_TAG].md; the raw callgrind files
# stay in bench/results/callgrind/ (git-ignored) for callgrind_annotate / kcachegrind.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${BENCH_PROFILE_REQUESTS:-2000}"
read -r -a MODES <<<"${BENCH_PROFILE_MODES:-nolimit limits baseline}"
TOP="${BENCH_PROFILE_TOP:-40}"

need valgrind
need callgrind_annotate
need callgrind_control
need jq
need curl
build_release -p larkdesk -p larkdesk-bench-baseline
bench_tmpdir
RAW_DIR="$RESULTS_DIR/callgrind"
mkdir -p "$RAW_DIR"
[[ -f $RAW_DIR/.gitignore ]] || printf '*\n' >"$RAW_DIR/.gitignore"
DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/profile-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"

# "label|regex": the costliest inclusive entry whose "file:function" matches the (extended)
# regex is reported on its own line ("does X show up in the GET path?"). Matching the file too
# finds code that was inlined into a caller (the rate limiter is inlined into helpdesk_caller).
FOCUS=(
  "token verification (HMAC of the token, or the verified-token memo)|larkdesk_domain::token::|VerifiedCredentials::verify_token"
  "rate limiter (larkdesk_api::ratelimit, inlined)|/ratelimit[.]rs:|larkdesk_api::ratelimit::"
  "governor (limiter buckets)|governor::"
  "helpdesk token check (SHA-256, or the verified-header memo)|larkdesk_domain::credentials::SecretHash::matches|VerifiedCredentials::helpdesk_header"
  "X-Tt-Logid generation|larkdesk_api::logid::(new_log_id|LogId::new)"
  "rendered-ticket cache lookup (quick_cache, inlined)|/ticket_cache[.]rs:|ticket_cache::TicketCache::get|/quick_cache-[0-9.]+/src/"
  "auth (helpdesk_caller: token, app, scopes, limiter, helpdesk)|larkdesk_api::auth::.*helpdesk_caller"
  "GET ticket off the router (hot_path: the handler's code, inlined into HotPath's future)|larkdesk_api::hot_path::HotPath as tower_service::Service<.*>::call::[{][{]closure|larkdesk_api::routes::tickets::serve_ticket"
  "GET ticket through the router (axum Handler::call; 0 when the hot path took every request)|axum::handler::Handler<"
  "store: ticket read (larkdesk_store)|larkdesk_store::.*::ticket::"
  "threads outside the tokio runtime (the sqlx SQLite worker)|std::sys::backtrace::__rust_begin_short_backtrace"
  "sqlx statement execution (worker thread)|sqlx_sqlite::connection::execute::ExecuteIter"
  "SQLite engine (sqlite3_step)|:sqlite3_step( |$)"
  "JSON response (larkdesk_api::json::success)|larkdesk_api::json::success"
  "HTTP/1 connection task (hyper, everything a request runs inside)|GracefulConnectionFuture<C,F> as core::future::future::Future>::poll"
  "tracing|tracing(_core|_subscriber)?::"
  "per-request clone of a boxed service (tower BoxCloneSyncService)|boxed_clone_sync::CloneService<R>>::clone_box"
  "heap: Rust's allocation entry points, summed (glibc malloc or mimalloc underneath)|__rustc::__rust_(alloc|dealloc|realloc|alloc_zeroed)( |$)"
)

# raw_lines FILE: "IR PCT FILE:FUNCTION [OBJECT]" for each function line of callgrind_annotate.
raw_lines() {
  sed -n 's/^ *\([0-9,]\+\) (\( *[0-9.]\+%\))  \(.*\)$/\1 \2 \3/p' "$1" |
    awk '!/PROGRAM TOTALS/ { gsub(",", "", $1); gsub(" ", "", $2); print }'
}

# entry_lines FILE: "IR PCT FUNCTION", the function without its file and object, each function
# once (its costliest entry). Entries of recursive calls (callgrind's fn'2) are left out, and so
# is anything above 100%: their inclusive cost counts the same instructions several times
# (futures polling futures).
entry_lines() {
  raw_lines "$1" | awk '
    {
      ir = $1; pct = $2; fn = $0; sub(/^[^ ]+ [^ ]+ /, "", fn)
      sub(/ \[[^]]*\]$/, "", fn)
      if (!sub(/^[^ ]*\.(rs|c|h|S|s):/, "", fn)) sub(/^\?\?\?:/, "", fn)
      if (fn ~ /\047[0-9]+$/) next
      if (pct + 0 > 100) next
      if (seen[fn]++) next
      gsub(/`/, "\047", fn)
      print ir, pct, substr(fn, 1, 160)
    }'
}

# focus_line FILE REGEX: "IR PCT FUNCTION" of the costliest inclusive entry matching REGEX (for
# the allocation entry points: their sum).
focus_line() {
  raw_lines "$1" | awk -v re="$2" '
    {
      ir = $1; pct = $2; fn = $0; sub(/^[^ ]+ [^ ]+ /, "", fn)
      if (found || fn !~ re || fn ~ /\047[0-9]+( \[|$)/ || pct + 0 > 100) next
      # Source-annotation lines that merely mention a function ("936 0.00% file:fn") are not entries.
      if (fn ~ /^[0-9]+ +[0-9.]+% /) next
      sub(/ \[[^]]*\]$/, "", fn)
      if (!sub(/^[^ ]*\.(rs|c|h|S|s):/, "", fn)) sub(/^\?\?\?:/, "", fn)
      if (re ~ /__rust_\(alloc/) { if (!(fn in seen)) { seen[fn] = 1; sum += ir; spct += pct; names = names (names ? " + " : "") fn }; next }
      print ir, pct, fn; found = 1
    }
    END { if (!found && sum) printf "%d %.2f%% %s\n", sum, spct, names }'
}

# by_crate FILE TOTAL: the exclusive cost summed by the crate (or library) of each function's file.
by_crate() {
  raw_lines "$1" | awk '
    {
      ir = $1; fn = $0; sub(/^[^ ]+ [^ ]+ /, "", fn)
      file = fn; sub(/:.*/, "", file)
      obj = ""; if (match(fn, /\[[^]]*\]$/)) obj = substr(fn, RSTART + 1, RLENGTH - 2)
      if (match(file, /crates\/larkdesk[a-z-]*\//)) name = substr(file, RSTART + 7, RLENGTH - 8)
      else if (match(file, /registry\/src\/[^\/]+\/[^\/]+\//)) {
        name = substr(file, RSTART, RLENGTH - 1); sub(/.*\//, "", name); sub(/-[0-9]+\.[0-9]+\.[0-9]+.*$/, "", name)
      }
      else if (file ~ /^\/rustc\//) name = "Rust std/core/alloc"
      else if (obj != "") { name = obj; sub(/.*\//, "", name); name = name " (no debug info)" }
      else name = "other"
      sum[name] += ir
    }
    END { for (n in sum) printf "%d\t%s\n", sum[n], n }' |
    sort -rn | awk -F'\t' -v total="$2" '{ printf "| %s | %.1f%% |\n", $2, 100 * $1 / total }'
}

# profile_mode MODE: one callgrind run; writes $BENCH_TMP/summary-MODE.md.
profile_mode() {
  local mode=$1 extra i
  local out="$RAW_DIR/callgrind.out.$mode"
  case $mode in
    nolimit) extra=(--no-rate-limit) ;;
    limits) extra=(--rate-limit get_ticket=1000000) ;;
    baseline) extra=() ;;
    *) die "unknown mode $mode (nolimit, limits or baseline)" ;;
  esac
  rm -f "$out"
  local url
  if [[ $mode == baseline ]]; then
    log "$mode: starting larkdesk-bench-baseline under callgrind"
    local port
    port="$(free_port)"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$BASELINE" "127.0.0.1:$port" \
      >"$BENCH_TMP/$mode.stdout" 2>"$BENCH_TMP/$mode.stderr" &
    SERVER_PID=$!
    BENCH_PIDS+=("$SERVER_PID")
    for ((i = 0; i < 600; i++)); do
      curl -s -o /dev/null "http://127.0.0.1:$port/" && break
      kill -0 "$SERVER_PID" 2>/dev/null || { cat "$BENCH_TMP/$mode.stderr" >&2; die "the baseline exited"; }
      sleep 0.1
    done
    # The same request as for larkdesk: headers of the same size (the baseline ignores them).
    export BENCH_AUTHORIZATION="${BENCH_AUTHORIZATION:-Bearer t-$(printf '%0128d' 0)}"
    export BENCH_HELPDESK_AUTH="${BENCH_HELPDESK_AUTH:-$(printf '%s' "7000000000000000000:ht-$(printf '%032d' 0)" | base64 -w0)}"
    url="http://127.0.0.1:$port/open-apis/helpdesk/v1/tickets/7000000000000000001"
  else
    CREDS="$BENCH_TMP/$mode.creds.json"
    log "$mode: starting larkdesk under callgrind (slow)"
    LARKDESK_JOURNAL=0 LARKDESK_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
      "$LARKDESK" --database-url "sqlite://$BENCH_TMP/$mode.db" serve --bind 127.0.0.1:0 \
      --credentials-file "$CREDS" --no-event-delivery "${extra[@]}" \
      >"$BENCH_TMP/$mode.stdout" 2>"$BENCH_TMP/$mode.stderr" &
    SERVER_PID=$!
    BENCH_PIDS+=("$SERVER_PID")
    wait_for_creds "$SERVER_PID" "$CREDS" "$mode" 300
    BASE_URL="$(jq -r .base_url "$CREDS")"
    demo_auth "$CREDS" "$BASE_URL"
    url="$BASE_URL/open-apis/helpdesk/v1/tickets/${TICKET_IDS[1]}"
  fi
  check_ok "$url"

  # One curl, one keep-alive connection, N requests (curl's config file repeats the URL).
  local warm="$BENCH_TMP/$mode.warm.curl" cfg="$BENCH_TMP/$mode.curl"
  {
    echo 'silent'
    echo "header = \"Authorization: $BENCH_AUTHORIZATION\""
    echo "header = \"X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH\""
    printf '%s\n' 'write-out = "%{http_code}\n"'
  } | tee "$warm" >"$cfg"
  for ((i = 0; i < 50; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url" >>"$warm"; done
  for ((i = 0; i < N; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url" >>"$cfg"; done
  interruptible curl -K "$warm" >/dev/null # warm caches, the statement cache and the credential cache first

  callgrind_control -i on "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation on"
  local started=$SECONDS
  interruptible curl -K "$cfg" >"$BENCH_TMP/$mode.codes"
  local took=$((SECONDS - started))
  callgrind_control -i off "$SERVER_PID" >/dev/null || die "callgrind_control could not switch instrumentation off"
  local ok
  ok="$(grep -c '^200$' "$BENCH_TMP/$mode.codes" || true)"
  [[ $ok == "$N" ]] || die "$mode: only $ok of $N requests answered 200"
  log "$mode: $N requests in ${took}s under callgrind; stopping the server (writes the profile)"
  stop_pid "$SERVER_PID" 120
  [[ -s $out ]] || die "callgrind wrote no profile to $out"

  local total
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$out" >"$BENCH_TMP/$mode.incl.txt" 2>/dev/null
  callgrind_annotate --auto=no --inclusive=no --threshold=100 "$out" >"$BENCH_TMP/$mode.excl.txt" 2>/dev/null
  total="$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$BENCH_TMP/$mode.incl.txt")"
  {
    case $mode in
      nolimit) echo "### Mode \`nolimit\`: larkdesk with --no-rate-limit, as in throughput.sh" ;;
      limits) echo "### Mode \`limits\`: larkdesk with the default rate limits on, get_ticket raised to 1,000,000/s" ;;
      baseline) echo "### Mode \`baseline\`: bench/baseline (fixed body, no auth, no database), for comparison" ;;
    esac
    echo
    echo "- $N requests, $(fmt_int "$total") instructions in the window = **$(fmt_int "$((total / N))") instructions per GET ticket**"
    echo
    echo "Focus (costliest inclusive entry matching each pattern; % of all instructions in the window):"
    echo
    echo "| what | inclusive % | instructions / request | function |"
    echo "|---|---:|---:|---|"
    local spec label pattern line ir pct fn
    for spec in "${FOCUS[@]}"; do
      label=${spec%%|*}
      pattern=${spec#*|}
      line="$(focus_line "$BENCH_TMP/$mode.incl.txt" "$pattern")"
      if [[ -z $line ]]; then
        echo "| $label | 0 | 0 | (not in the profile) |"
        continue
      fi
      read -r ir pct fn <<<"$line"
      echo "| $label | $pct | $(fmt_int "$((ir / N))") | \`${fn:0:110}\` |"
    done
    echo
    echo "Exclusive (self) cost by crate / library:"
    echo
    echo "| crate / library | self % |"
    echo "|---|---:|"
    by_crate "$BENCH_TMP/$mode.excl.txt" "$total" | awk 'NR <= 15'
    echo
    echo "Top 15 functions by exclusive (self) cost:"
    echo
    echo '```'
    entry_lines "$BENCH_TMP/$mode.excl.txt" |
      awk 'NR <= 15 { pct = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); printf "%7s  %s\n", pct, $0 }'
    echo '```'
    echo
    echo "Top $TOP inclusive entries (\`callgrind_annotate --inclusive=yes\`, recursive duplicates removed):"
    echo
    echo '```'
    entry_lines "$BENCH_TMP/$mode.incl.txt" |
      awk -v top="$TOP" 'NR <= top { pct = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); printf "%7s  %s\n", pct, $0 }'
    echo '```'
    echo
  } >"$BENCH_TMP/summary-$mode.md"
}

{
  echo "## GET ticket profile (callgrind, $DATE)"
  echo
  machine_info | grep -v '^- wrk'
  echo "- \`valgrind --tool=callgrind --instr-atstart=no\`; instrumentation switched on with \`callgrind_control -i on\` only while $N GET ticket requests (demo ticket, one keep-alive curl connection) ran, after 50 warm-up requests; SQLite; \`LARKDESK_LOG=warn\`"
  echo "- Percentages are of all instructions executed by every server thread in that window. Inclusive cost follows calls within a thread: work a handler hands to the sqlx SQLite worker thread shows up under that thread's entry, not under the handler."
  echo
} >"$BENCH_TMP/header.md"

for mode in "${MODES[@]}"; do profile_mode "$mode"; done
{
  cat "$BENCH_TMP/header.md"
  for mode in "${MODES[@]}"; do cat "$BENCH_TMP/summary-$mode.md"; done
} | tee "$REPORT"
log "saved $REPORT (raw profiles in $RAW_DIR)"

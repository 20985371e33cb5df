#!/usr/bin/env bash
# GET ticket throughput: larkdesk against the "physical limit" (bench/baseline: the same axum
# stack answering a fixed body, no auth, no database).
#
#   bench/throughput.sh                 # 10 s per run at 1, 16 and 64 connections
#   BENCH_DURATION=30s bench/throughput.sh
#
# Each server runs alone, pinned to CPU $BENCH_SERVER_CPU (0); wrk (1 thread) is pinned to
# CPU $BENCH_CLIENT_CPU (1). Each connection count gets a 2 s warm-up whose numbers are dropped.
# Every request asks for the same (demo) ticket, so with a ticket cache this measures its hit
# path; bench/scale.sh asks for random tickets.
# Prints a Markdown table and saves it to bench/results/throughput-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-10s}"
read -r -a CONNS <<<"${BENCH_CONNECTIONS:-1 16 64}"
TARGET_RATIO=70  # % of the baseline at 64 connections
TARGET_P99_MS=2  # at 64 connections

need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
build_release -p larkdesk -p larkdesk-bench-baseline
bench_tmpdir

declare -A RPS P50 P99 RSS NON2XX CPU_USER CPU_SYS CS

# measure NAME URL: warm up and run wrk at every connection count against one running server.
measure() {
  local name=$1 url=$2 c before
  for c in "${CONNS[@]}"; do
    BENCH_WARMUP_CONNS=$c warm_up "$url"
    before="$(proc_counters "$SERVER_PID")"
    run_wrk "$name-c$c" "$c" "$DURATION" "$url"
    counters_per_request "$before" "$(proc_counters "$SERVER_PID")" "$W_REQUESTS"
    CPU_USER[$name,$c]=$C_USER_US
    CPU_SYS[$name,$c]=$C_SYS_US
    CS[$name,$c]=$C_CS
    RPS[$name,$c]=$W_RPS
    P50[$name,$c]=$W_P50
    P99[$name,$c]=$W_P99
    NON2XX[$name,$c]=$W_NON2XX
    RSS[$name,$c]="$(peak_rss_kb "$SERVER_PID")"
  done
}

# larkdesk: a fresh SQLite database with the demo installation.
log "starting larkdesk"
start_larkdesk "sqlite://$BENCH_TMP/bench.db" larkdesk --no-rate-limit
demo_auth "$CREDS" "$BASE_URL"
TICKET_URL="$BASE_URL/open-apis/helpdesk/v1/tickets/${TICKET_IDS[1]}"
check_ok "$TICKET_URL"
BODY_BYTES="$(curl -s "$TICKET_URL" -H "Authorization: $BENCH_AUTHORIZATION" -H "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" | wc -c)"
measure larkdesk "$TICKET_URL"
stop_pid "$SERVER_PID"

log "starting the baseline"
start_baseline baseline
BASELINE_URL="$BASE_URL/open-apis/helpdesk/v1/tickets/${TICKET_IDS[1]}"
BASELINE_BYTES="$(curl -s "$BASELINE_URL" | wc -c)"
measure baseline "$BASELINE_URL"
stop_pid "$SERVER_PID"

# ---- report -------------------------------------------------------------------------------------
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }'; }
verdict() { if [[ $1 == 1 ]]; then echo "**met**"; else echo "**not met**"; fi; }

DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/throughput-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## GET ticket throughput ($DATE)"
  echo
  machine_info
  echo "- Runs: ${DURATION} each after a 2 s warm-up, \`wrk -t1 -cN --latency\`; larkdesk on SQLite with \`--no-rate-limit\`, \`LARKDESK_LOG=warn\`"
  echo "- Bodies: larkdesk ${BODY_BYTES} bytes (the same demo ticket, ${TICKET_IDS[1]}, on every request), baseline ${BASELINE_BYTES} bytes (fixed)"
  echo
  echo "| server | connections | req/s | p50 | p99 | peak RSS | % of baseline | server CPU µs/req (user + sys) | context switches/req |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    for name in larkdesk baseline; do
      share="$(pct "${RPS[$name,$c]}" "${RPS[baseline,$c]}")%"
      printf '| %s | %s | %s | %s ms | %s ms | %s | %s | %s + %s | %s |\n' "$name" "$c" "$(fmt_int "${RPS[$name,$c]}")" \
        "${P50[$name,$c]}" "${P99[$name,$c]}" "$(mib "${RSS[$name,$c]}")" "$([[ $name == larkdesk ]] && echo "$share" || echo "100%")" \
        "${CPU_USER[$name,$c]}" "${CPU_SYS[$name,$c]}" "${CS[$name,$c]}"
    done
  done
  echo
  echo "Peak RSS is the server's VmHWM after that run (it includes the runs before it). CPU time and context switches come from /proc/PID/stat and /proc/PID/task/*/status, divided by the requests of the run."
  for c in "${CONNS[@]}"; do
    for name in larkdesk baseline; do
      [[ ${NON2XX[$name,$c]} == 0 ]] || echo "WARNING: $name at $c connections had ${NON2XX[$name,$c]} non-2xx responses."
    done
  done
  if [[ -n ${RPS[larkdesk,64]:-} ]]; then
    ratio="$(pct "${RPS[larkdesk,64]}" "${RPS[baseline,64]}")"
    p99="${P99[larkdesk,64]}"
    echo
    echo "| target (64 connections) | measured | |"
    echo "|---|---:|---|"
    echo "| GET ticket ≥ ${TARGET_RATIO}% of the baseline | ${ratio}% | $(verdict "$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) }')") |"
    echo "| GET ticket p99 < ${TARGET_P99_MS} ms | ${p99} ms | $(verdict "$(awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t) }')") |"
  fi
} | tee "$REPORT"
log "saved $REPORT"

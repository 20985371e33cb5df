#!/usr/bin/env bash
# GET ticket throughput: larkdesk against the "physical limit" (bench/baseline: the same axum
# stack answering a fixed body, no auth, no database).
#
#   bench/throughput.sh                 # 3 rounds of 10 s per server at 1, 16 and 64 connections
#   BENCH_DURATION=30s BENCH_ROUNDS=5 bench/throughput.sh
#
# Both servers are pinned to CPU $BENCH_SERVER_CPU (0) and wrk (1 thread) to CPU
# $BENCH_CLIENT_CPU (1); only one server is under load at a time. The machine is a VM whose
# speed drifts by tens of percent from minute to minute, so the two servers are measured in
# alternating rounds (larkdesk, baseline, larkdesk, ...) and the report gives the median round;
# the ratio to the baseline is the median of the per-round ratios, each from runs a few seconds
# apart. Every run gets a 2 s warm-up whose numbers are dropped.
# Every request asks for the same (demo) ticket, so with a ticket cache this measures its hit
# path; bench/scale.sh asks for random tickets.
# Prints a Markdown table and saves it to bench/results/throughput-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${BENCH_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-3}"
read -r -a CONNS <<<"${BENCH_CONNECTIONS:-1 16 64}"
TARGET_RATIO=70  # % of the baseline at 64 connections
TARGET_P99_MS=2  # at 64 connections

need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
build_release -p larkdesk -p larkdesk-bench-baseline
bench_tmpdir

declare -A RPS P50 P99 RSS NON2XX CPU_USER CPU_SYS CS RATIOS

# measure NAME PID URL CONNECTIONS ROUND: warm up, run wrk, keep the numbers of this round.
measure() {
  local name=$1 pid=$2 url=$3 c=$4 round=$5 before
  BENCH_WARMUP_CONNS=$c warm_up "$url"
  before="$(proc_counters "$pid")"
  run_wrk "$name-c$c-r$round" "$c" "$DURATION" "$url"
  counters_per_request "$before" "$(proc_counters "$pid")" "$W_REQUESTS"
  CPU_USER[$name,$c]+=" $C_USER_US"
  CPU_SYS[$name,$c]+=" $C_SYS_US"
  CS[$name,$c]+=" $C_CS"
  RPS[$name,$c]+=" $W_RPS"
  P50[$name,$c]+=" $W_P50"
  P99[$name,$c]+=" $W_P99"
  NON2XX[$name,$c]=$((${NON2XX[$name,$c]:-0} + W_NON2XX))
  RSS[$name,$c]="$(peak_rss_kb "$pid")"
}

start_demo_servers
BODY_BYTES="$(curl -s "$TICKET_URL" -H "Authorization: $BENCH_AUTHORIZATION" -H "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" | wc -c)"
BASELINE_BYTES="$(curl -s "$BASELINE_URL" | wc -c)"

for c in "${CONNS[@]}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    measure larkdesk "$LARKDESK_PID" "$TICKET_URL" "$c" "$round"
    measure baseline "$BASELINE_PID" "$BASELINE_URL" "$c" "$round"
    RATIOS[$c]+=" $(awk -v a="$W_RPS" -v l="${RPS[larkdesk,$c]##* }" 'BEGIN { printf "%.1f", (a > 0 ? 100 * l / a : 0) }')"
  done
done
stop_pid "$LARKDESK_PID"
stop_pid "$BASELINE_PID"

# ---- report -------------------------------------------------------------------------------------
verdict() { if [[ $1 == 1 ]]; then echo "**met**"; else echo "**not met**"; fi; }

DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/throughput-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## GET ticket throughput ($DATE)"
  echo
  machine_info
  echo "- Runs: ${ROUNDS} rounds per connection count, each round ${DURATION} of larkdesk then ${DURATION} of the baseline (each after a 2 s warm-up), \`wrk -t1 -cN --latency\`; larkdesk on SQLite with \`--no-rate-limit\`, \`LARKDESK_LOG=warn\`"
  echo "- Each figure is the median over the rounds; \`% of baseline\` is the median of the per-round ratios (all rounds listed below the table)"
  echo "- Bodies: larkdesk ${BODY_BYTES} bytes (the same demo ticket, ${TICKET_IDS[1]}, on every request), baseline ${BASELINE_BYTES} bytes (fixed)"
  echo
  echo "| server | connections | req/s | p50 | p99 | peak RSS | % of baseline | server CPU µs/req (user + sys) | context switches/req |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    for name in larkdesk baseline; do
      # shellcheck disable=SC2086 # the per-round values are space-separated on purpose
      printf '| %s | %s | %s | %s ms | %s ms | %s | %s | %s + %s | %s |\n' "$name" "$c" "$(fmt_int "$(median ${RPS[$name,$c]})")" \
        "$(median ${P50[$name,$c]})" "$(median ${P99[$name,$c]})" "$(mib "${RSS[$name,$c]}")" \
        "$([[ $name == larkdesk ]] && printf '%.0f%%' "$(median ${RATIOS[$c]})" || echo "100%")" \
        "$(median ${CPU_USER[$name,$c]})" "$(median ${CPU_SYS[$name,$c]})" "$(median ${CS[$name,$c]})"
    done
  done
  echo
  echo "Per round (larkdesk req/s / baseline req/s = ratio):"
  echo
  for c in "${CONNS[@]}"; do
    read -r -a l <<<"${RPS[larkdesk,$c]}"
    read -r -a b <<<"${RPS[baseline,$c]}"
    read -r -a r <<<"${RATIOS[$c]}"
    line=""
    for ((i = 0; i < ${#l[@]}; i++)); do line+="${line:+; }$(fmt_int "${l[i]}") / $(fmt_int "${b[i]}") = ${r[i]}%"; done
    echo "- $c connections: $line"
  done
  echo
  echo "Peak RSS is the server's VmHWM after that run (it includes the runs before it). CPU time and context switches come from /proc/PID/stat and /proc/PID/task/*/status, divided by the requests of the run."
  for c in "${CONNS[@]}"; do
    for name in larkdesk baseline; do
      [[ ${NON2XX[$name,$c]} == 0 ]] || echo "WARNING: $name at $c connections had ${NON2XX[$name,$c]} non-2xx responses."
    done
  done
  if [[ -n ${RPS[larkdesk,64]:-} ]]; then
    # shellcheck disable=SC2086
    ratio="$(printf '%.0f' "$(median ${RATIOS[64]})")"
    # shellcheck disable=SC2086
    p99="$(median ${P99[larkdesk,64]})"
    echo
    echo "| target (64 connections) | measured | |"
    echo "|---|---:|---|"
    echo "| GET ticket ≥ ${TARGET_RATIO}% of the baseline | ${ratio}% | $(verdict "$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) }')") |"
    echo "| GET ticket p99 < ${TARGET_P99_MS} ms | ${p99} ms | $(verdict "$(awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t) }')") |"
  fi
} | tee "$REPORT"
log "saved $REPORT"

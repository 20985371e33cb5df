#!/usr/bin/env bash
# GET ticket latency at a given load, for larkdesk and the baseline (bench/baseline).
#
#   bench/latency.sh                             # 64 connections, 10% ... 90% of saturation
#   BENCH_LOAD_SHARES="50 75" BENCH_ROUNDS=5 bench/latency.sh
#   BENCH_RATES="20000 40000" bench/latency.sh    # fixed rates in req/s instead
#
# bench/throughput.sh uses wrk, a closed loop: each connection sends its next request as soon
# as the previous answer arrives, so at 64 connections the server is always saturated and p99
# is mostly queueing (64 requests in flight / req/s, Little's law). This script offers a fixed
# load instead, with bench/loadgen: 64 keep-alive connections, each sending on a fixed schedule
# whatever the answers do, latency measured from the scheduled send time (so a stall also counts
# against the requests that queue behind it). Each round first measures both servers' saturated
# throughput with wrk (-c64, 5 s), then every offered rate for larkdesk and then the baseline.
# The servers are pinned to CPU $BENCH_SERVER_CPU (0), wrk and the load generator (one thread
# each) to CPU $BENCH_CLIENT_CPU (1). The report gives the median over rounds; it is saved to
# bench/results/latency-<date>[-$BENCH_TAG].md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION_S="${BENCH_DURATION_S:-10}"
WARMUP_S="${BENCH_LOADGEN_WARMUP_S:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
# Offered loads: BENCH_RATES (req/s), or else BENCH_LOAD_SHARES, percentages of the throughput
# larkdesk reaches saturated in the first round (the VM's speed differs by 3x between machines).
read -r -a RATES <<<"${BENCH_RATES:-}"
read -r -a LOAD_SHARES <<<"${BENCH_LOAD_SHARES:-10 25 50 75 90}"
TARGET_P99_MS=2
LOADGEN="$REPO_ROOT/target/release/larkdesk-bench-loadgen"

need wrk "apt-get install -y wrk"
need taskset
need jq
need curl
build_release -p larkdesk -p larkdesk-bench-baseline -p larkdesk-bench-loadgen
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN"
bench_tmpdir

declare -A SAT ACHIEVED P50 P90 P99 P999 MAX LAG BUSY

# offer NAME PID URL RATE: one load generator run; appends this round's figures.
offer() {
  local name=$1 pid=$2 url=$3 rate=$4 out line t0 t1 c0 c1 lag
  out="$BENCH_TMP/loadgen-$name-$rate-$round.txt"
  local pin=(taskset -c "$CLIENT_CPU")
  [[ -n ${BENCH_NO_PIN:-} ]] && pin=()
  c0="$(proc_counters "$pid" | awk '{print $1 + $2}')"
  t0="$(date +%s.%N)"
  interruptible "${pin[@]}" "$LOADGEN" --url "$url" --rate "$rate" --connections "$CONNECTIONS" \
    --duration "$DURATION_S" --warmup "$WARMUP_S" \
    --header "Authorization: $BENCH_AUTHORIZATION" \
    --header "X-Lark-Helpdesk-Authorization: $BENCH_HELPDESK_AUTH" >"$out" 2>&1 \
    || { cat "$out" >&2; die "load generator failed ($name at $rate req/s)"; }
  t1="$(date +%s.%N)"
  c1="$(proc_counters "$pid" | awk '{print $1 + $2}')"
  line="$(grep '^BENCH_RESULT' "$out" | tail -1)" || { cat "$out" >&2; die "no BENCH_RESULT ($name at $rate req/s)"; }
  [[ "$(field non2xx "$line")" == 0 ]] || die "$name at $rate req/s: $(field non2xx "$line") responses were not 2xx"
  ACHIEVED[$name,$rate]+=" $(field rps "$line")"
  P50[$name,$rate]+=" $(field p50_ms "$line")"
  P90[$name,$rate]+=" $(field p90_ms "$line")"
  P99[$name,$rate]+=" $(field p99_ms "$line")"
  P999[$name,$rate]+=" $(field p999_ms "$line")"
  MAX[$name,$rate]+=" $(field max_ms "$line")"
  lag="$(field timer_lag_p99_ms "$line")"
  # "-": every connection was busy at every due time, so there was no lag to sample.
  [[ $lag =~ ^[0-9.]+$ ]] && LAG[$name,$rate]+=" $lag"
  # The share of its core the server used, warm-up included.
  BUSY[$name,$rate]+=" $(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.0f", 100 * c / hz / (t1 - t0) }')"
  log "$name at $rate req/s: achieved $(field rps "$line") p50 $(field p50_ms "$line") p99 $(field p99_ms "$line") p99.9 $(field p999_ms "$line") ms (timer lag p99 $(field timer_lag_p99_ms "$line") ms)"
}

start_demo_servers

for ((round = 1; round <= ROUNDS; round++)); do
  for name in larkdesk baseline; do
    if [[ $name == larkdesk ]]; then url=$TICKET_URL; else url=$BASELINE_URL; fi
    BENCH_WARMUP_CONNS=$CONNECTIONS warm_up "$url"
    run_wrk "$name-saturated-r$round" "$CONNECTIONS" 5s "$url"
    SAT[$name]+=" $W_RPS"
  done
  if [[ ${#RATES[@]} == 0 ]]; then
    for share in "${LOAD_SHARES[@]}"; do
      RATES+=("$(awk -v s="$share" -v r="${SAT[larkdesk]# }" 'BEGIN { printf "%d", int(s * r / 100 / 1000 + 0.5) * 1000 }')")
    done
    log "offered rates: ${RATES[*]} req/s"
  fi
  for rate in "${RATES[@]}"; do
    offer larkdesk "$LARKDESK_PID" "$TICKET_URL" "$rate"
    offer baseline "$BASELINE_PID" "$BASELINE_URL" "$rate"
  done
done
stop_pid "$LARKDESK_PID"
stop_pid "$BASELINE_PID"

# ---- report -------------------------------------------------------------------------------------
# best_rate NAME: the highest offered rate whose median p99 is under the target, or 0.
best_rate() {
  local name=$1 rate best=0
  for rate in "${RATES[@]}"; do
    # shellcheck disable=SC2086 # the per-round values are space-separated on purpose
    awk -v p="$(median ${P99[$name,$rate]})" -v t="$TARGET_P99_MS" 'BEGIN { exit !(p < t) }' && best=$rate
  done
  echo "$best"
}

DATE="$(date +%Y-%m-%d)"
REPORT="$RESULTS_DIR/latency-$DATE${BENCH_TAG:+-$BENCH_TAG}.md"
mkdir -p "$RESULTS_DIR"
{
  echo "## GET ticket latency at a fixed offered load ($DATE)"
  echo
  machine_info
  echo "- Load: \`larkdesk-bench-loadgen\` (bench/loadgen, one thread) pinned to CPU $CLIENT_CPU: $CONNECTIONS keep-alive connections, each sending on a fixed schedule; latency from the scheduled send time. ${ROUNDS} rounds; in each, every rate for ${DURATION_S} s on larkdesk then on the baseline, after ${WARMUP_S} s of the same load that are not counted"
  echo "- Saturated throughput: \`wrk -t1 -c$CONNECTIONS\`, 5 s per server at the start of each round, after a 2 s warm-up"
  echo "- larkdesk on SQLite with \`--no-rate-limit\`, \`LARKDESK_LOG=warn\`, the same demo ticket (${TICKET_IDS[1]}) on every request; each figure is the median over the rounds"
  echo
  for name in larkdesk baseline; do
    # shellcheck disable=SC2086
    echo "- $name saturated at $CONNECTIONS connections: $(fmt_int "$(median ${SAT[$name]})") req/s (rounds: $(for v in ${SAT[$name]}; do printf '%s ' "$(fmt_int "$v")"; done | sed 's/ $//; s/ / · /g'))"
  done
  echo
  # shellcheck disable=SC2086
  LARKDESK_SAT="$(median ${SAT[larkdesk]})"
  echo "| offered req/s | % of larkdesk saturated | server | achieved req/s | server core busy | p50 | p90 | p99 | p99.9 | max | p99 < ${TARGET_P99_MS} ms | load generator timer lag p99 |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  for rate in "${RATES[@]}"; do
    for name in larkdesk baseline; do
      # shellcheck disable=SC2086
      p99="$(median ${P99[$name,$rate]})"
      # shellcheck disable=SC2086
      printf '| %s | %s%% | %s | %s | %s%% | %s ms | %s ms | %s ms | %s ms | %s ms | %s | %s ms |\n' "$(fmt_int "$rate")" \
        "$(awk -v r="$rate" -v s="$LARKDESK_SAT" 'BEGIN { printf "%.0f", 100 * r / s }')" "$name" \
        "$(fmt_int "$(median ${ACHIEVED[$name,$rate]})")" "$(median ${BUSY[$name,$rate]})" \
        "$(median ${P50[$name,$rate]})" "$(median ${P90[$name,$rate]})" "$p99" \
        "$(median ${P999[$name,$rate]})" "$(median ${MAX[$name,$rate]})" \
        "$(awk -v p="$p99" -v t="$TARGET_P99_MS" 'BEGIN { print (p < t ? "yes" : "**no**") }')" \
        "$([[ -n ${LAG[$name,$rate]:-} ]] && median ${LAG[$name,$rate]} || echo -)"
    done
  done
  echo
  echo "p99 per round (ms):"
  echo
  for rate in "${RATES[@]}"; do
    echo "- $(fmt_int "$rate") req/s: larkdesk ${P99[larkdesk,$rate]# }; baseline ${P99[baseline,$rate]# }"
  done
  echo
  echo "Server core busy: the server's CPU time over the run's wall time, warm-up included. Timer lag: how late the load generator sent requests whose connection was idle when they were due (its own timing error)."
  echo
  for name in larkdesk baseline; do
    best="$(best_rate "$name")"
    # shellcheck disable=SC2086
    sat="$(median ${SAT[$name]})"
    if [[ $best == 0 ]]; then
      echo "- $name: p99 ≥ ${TARGET_P99_MS} ms at every offered rate"
    else
      echo "- $name: p99 < ${TARGET_P99_MS} ms up to $(fmt_int "$best") req/s offered, $(awk -v b="$best" -v s="$sat" 'BEGIN { printf "%.0f", 100 * b / s }')% of its saturated throughput"
    fi
  done
} | tee "$REPORT"
log "saved $REPORT"

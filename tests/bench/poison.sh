#!/usr/bin/env bash
#   Poison benchmark (behind `ferry-dev bench poison`): does one agent that
#   keeps sending frames which decode but cannot be stored slow the others?
#
#   tests/bench/poison.sh BIN_DIR [AGENTS=1000]
#
#   AGENTS simulated CURVE agents (one ferry-loadgen, at most 2000) send
#   metrics at full rate to a fresh ferry-collector (a fresh database each
#   run) for DURATION seconds; in the poisoned runs one more agent
#   (`ferry-loadgen poison`) resends a frame the store refuses every 20 ms
#   until it is acked, then the next, all along. Clean and poisoned runs
#   alternate, ROUNDS of each (the order swapped every round, so that a drift
#   of the machine's speed weighs on both alike); the medians are compared.
#
#   Environment: DURATION=10 ROUNDS=5 WINDOW=max(2,16000/AGENTS) RESEND_MS=20
#   BATCH_MAX=20000 BATCH_WAIT=50ms SYNC_FULL=true KEEP=1 keeps the work directory.
#
#   Last line:
#   RESULT poison clean_msgs_per_s=N poisoned_msgs_per_s=N ratio=R rounds=K agents=A rejected=X lost=L
#   ratio = median poisoned / median clean. Exit status 1 when ratio < 0.9, a
#   message of the good agents was lost, or the poison was never set aside.
set -euo pipefail

usage() { echo "usage: $0 BIN_DIR [AGENTS]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
bin=$(cd "$1" && pwd) || usage
agents=${2:-1000}
[[ $agents =~ ^[1-9][0-9]*$ ]] && (( agents <= 2000 )) || usage

duration=${DURATION:-10}
rounds=${ROUNDS:-5}
window=${WINDOW:-$(( 16000 / agents > 2 ? 16000 / agents : 2 ))}
resend_ms=${RESEND_MS:-20}

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_start poison ferry-bench-poison ferry-collector ferry-loadgen

# FIELD of the line starting with TAG in FILE.
field() { sed -n "s/^$2 .* $3=\([0-9.]*\).*/\1/p" "$1" | tail -1; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- setup -------------------------------------------------------------------
"$bin/ferry-collector" keygen "$work/keys" > /dev/null
# Key 0 is the poison agent, keys 1..AGENTS the good ones.
"$bin/ferry-loadgen" keys --count "$(( agents + 1 ))" --out "$work/agents" --allowed "$work/allowed" 2>&1 \
  | sed 's/^/poison: /' >&2
say "$agents agents, window $window, ${duration} s per run, $rounds clean and $rounds poisoned runs" \
    "(one poison frame every ${resend_ms} ms), work dir $work"

lost_total=0
rejected_total=0
: > "$work/clean.rates"
: > "$work/poisoned.rates"

# One run: MODE clean or poisoned; appends the good agents' stored rate to $work/MODE.rates.
run_one() {
  local mode=$1 n=$2 dir="$work/$1.$2"
  mkdir -p "$dir"
  cat > "$dir/collector.conf" <<EOF
collector
    bind = "tcp://127.0.0.1:*"
    cert = "$work/keys/collector.cert_secret"
    allowed_agents = "$work/allowed"
    database = "$dir/ferry.db"
    batch_max = ${BATCH_MAX:-20000}
    batch_wait = ${BATCH_WAIT:-50ms}
    sync_full = ${SYNC_FULL:-true}
    verbose = false
EOF
  "$bin/ferry-collector" -c "$dir/collector.conf" 2> "$dir/collector.log" &
  local collector=$!; pids+=("$collector")
  local endpoint
  endpoint=$(wait_listening "$dir/collector.log" "$collector")

  "$bin/ferry-loadgen" run --endpoint "$endpoint" --server-cert "$work/keys/collector.cert" \
    --keys "$work/agents" --first 1 --agents "$agents" --duration "$duration" --window "$window" \
    --connect-wait 120 --wait 60 --hold > "$dir/good.out" 2> "$dir/good.err" &
  local good=$!; pids+=("$good")
  local deadline=$((SECONDS + 240))
  until grep -q 'connected in' "$dir/good.err" 2>/dev/null; do
    kill -0 "$good" 2>/dev/null || { cat "$dir/good.err" >&2; die "the loadgen exited while connecting"; }
    (( SECONDS < deadline )) || die "loadgen still connecting after 240 s"
    sleep 0.1
  done
  local poison=
  if [[ $mode == poisoned ]]; then
    "$bin/ferry-loadgen" poison --endpoint "$endpoint" --server-cert "$work/keys/collector.cert" \
      --keys "$work/agents" --first 0 --duration $(( duration * 10 + 600 )) \
      --resend-ms "$resend_ms" --wait 60 > "$dir/poison.out" 2> "$dir/poison.err" &
    poison=$!; pids+=("$poison")
    # Let it go through at least once before the others start.
    deadline=$((SECONDS + 60))
    until [[ $(sqlite3 -readonly "$dir/ferry.db" "SELECT count(*) FROM rejected" 2>/dev/null || echo 0) -gt 0 ]]; do
      (( SECONDS < deadline )) || die "no poison frame set aside within 60 s"
      sleep 0.05
    done
  fi
  kill -USR1 "$good"
  wait "$good" || true
  forget "$good"
  [[ -n $poison ]] && stop_proc "$poison"
  stop_proc "$collector"

  local line acked elapsed sent rate rejected=0
  line=$(grep -h '^LOADGEN' "$dir/good.out") || { cat "$dir/good.err" >&2; die "the loadgen printed no result"; }
  sent=$(field "$dir/good.out" LOADGEN sent)
  acked=$(field "$dir/good.out" LOADGEN acked)
  elapsed=$(field "$dir/good.out" LOADGEN elapsed_s)
  rate=$(awk -v a="$acked" -v e="$elapsed" 'BEGIN { printf "%.0f", (e > 0 ? a / e : 0) }')
  local rows
  rows=$(sqlite3 -readonly "$dir/ferry.db" \
    "SELECT count(DISTINCT agent_id || ':' || seq) FROM metric_samples s JOIN agents a ON a.id = s.agent_id
     WHERE a.hostname <> 'loadgen-000000'")
  lost_total=$(( lost_total + sent - acked + (acked > rows ? acked - rows : 0) ))
  if [[ $mode == poisoned ]]; then
    rejected=$(sqlite3 -readonly "$dir/ferry.db" "SELECT count(*) FROM rejected")
    rejected_total=$(( rejected_total + rejected ))
  fi
  echo "$rate" >> "$work/$mode.rates"
  say "$mode run $n: $rate msgs/s stored for the good agents (sent $sent, acked $acked, rows $rows)," \
      "set aside $rejected; $line"
  [[ ${KEEP:-0} == 1 ]] || rm -f "$dir/ferry.db" "$dir/ferry.db-wal" "$dir/ferry.db-shm"
}

for (( r = 1; r <= rounds; r++ )); do
  if (( r % 2 )); then
    run_one clean "$r"; run_one poisoned "$r"
  else
    run_one poisoned "$r"; run_one clean "$r"
  fi
done

clean=$(median < "$work/clean.rates")
poisoned=$(median < "$work/poisoned.rates")
ratio=$(awk -v p="$poisoned" -v c="$clean" 'BEGIN { printf "%.3f", (c > 0 ? p / c : 0) }')
say "clean runs: $(tr '\n' ' ' < "$work/clean.rates")msgs/s; poisoned: $(tr '\n' ' ' < "$work/poisoned.rates")msgs/s"

status=0
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9) }' || { say "the poisoned median is more than 10 % below the clean one"; status=1; }
(( lost_total == 0 )) || { say "messages of the good agents were lost"; status=1; }
(( rejected_total > 0 )) || { say "no poison frame was set aside"; status=1; }
echo "RESULT poison clean_msgs_per_s=$clean poisoned_msgs_per_s=$poisoned ratio=$ratio rounds=$rounds" \
     "agents=$agents rejected=$rejected_total lost=$lost_total"
exit $status

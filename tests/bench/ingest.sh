#!/usr/bin/env bash
#   Ingest benchmark (behind `ferry-dev bench ingest`).
#
#   tests/bench/ingest.sh BIN_DIR [AGENTS=1000]
#
#   AGENTS simulated CURVE agents (ferry-loadgen, at most PER_PROC per process)
#   send metrics to a fresh ferry-collector for DURATION seconds once all are
#   connected; rows in SQLite are checked against the acks. Then the same load
#   goes to ferry-sink (CURVE + ZAP, no decode, no store): the ceiling.
#
#   Environment: DURATION=20 PER_PROC=2000 WINDOW=max(2,16000/AGENTS) RATE=0
#   CONNECT_WAIT=max(120,AGENTS/40) ACK_WAIT=60 BATCH_MAX=20000 BATCH_WAIT=50ms SYNC_FULL=true
#   KEEP=1 keeps the work directory.
#
#   Last line:
#   RESULT ingest stored_msgs_per_s=N bare_msgs_per_s=N ratio=R p99_ms=X agents=A rss_mb=M lost=L duplicated=D
#   Exit status 1 when a message was lost or duplicated or an agent never connected.
set -euo pipefail

usage() { echo "usage: $0 BIN_DIR [AGENTS]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
bin=$(cd "$1" && pwd) || usage
agents=${2:-1000}
[[ $agents =~ ^[1-9][0-9]*$ ]] || usage

duration=${DURATION:-20}
per_proc=${PER_PROC:-2000}
window=${WINDOW:-$(( 16000 / agents > 2 ? 16000 / agents : 2 ))}
rate=${RATE:-0}
connect_wait=${CONNECT_WAIT:-$(( agents / 40 > 120 ? agents / 40 : 120 ))}
ack_wait=${ACK_WAIT:-60}

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_start ingest ferry-bench ferry-collector ferry-loadgen ferry-sink

# Largest VmRSS of PID, in kB, written to FILE until PID exits or we stop it.
sample_rss() {
  local pid=$1 out=$2 max=0 kb
  while kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [[ -n $kb ]]; do
    (( kb > max )) && { max=$kb; echo "$max" > "$out"; }
    sleep 0.5
  done
}

vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Poll until all loadgens of TAG have connected their agents, then start them together.
release_loadgens() {
  local tag=$1; shift
  local deadline=$((SECONDS + connect_wait + 120)) pid ready
  while :; do
    ready=$(cat "$work/$tag".*.err 2>/dev/null | grep -c 'connected in') || true
    (( ready >= $# )) && break
    for pid in "$@"; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/$tag".*.err >&2; die "a loadgen exited while connecting"; }
    done
    (( SECONDS < deadline )) || die "loadgens still connecting after $((connect_wait + 120)) s"
    sleep 0.1
  done
  grep -h 'connected in' "$work/$tag".*.err | sed 's/^/ingest: /' >&2
  kill -USR1 "$@"
}

# Run the agents in ceil(agents/per_proc) ferry-loadgen processes; TAG names the outputs.
run_loadgens() {
  local tag=$1 endpoint=$2; shift 2
  local procs=$(( (agents + per_proc - 1) / per_proc )) first=0 i n lpids=()
  for (( i = 0; i < procs; i++ )); do
    n=$(( agents / procs + (i < agents % procs ? 1 : 0) ))
    "$bin/ferry-loadgen" run --endpoint "$endpoint" --server-cert "$work/keys/collector.cert" \
      --keys "$work/agents" --first "$first" --agents "$n" --duration "$duration" \
      --connect-wait "$connect_wait" --wait "$ack_wait" --rate "$rate" --hold "$@" \
      > "$work/$tag.$i.out" 2> "$work/$tag.$i.err" &
    lpids+=("$!"); pids+=("$!")
    first=$(( first + n ))
  done
  release_loadgens "$tag" "${lpids[@]}"
  for i in "${!lpids[@]}"; do
    wait "${lpids[$i]}" || true
    forget "${lpids[$i]}"
    grep -h '^LOADGEN' "$work/$tag.$i.out" >&2 || { cat "$work/$tag.$i.err" >&2; die "loadgen $i printed no result"; }
  done
}

# Sum (or max) of FIELD over the LOADGEN lines of TAG.
lg_field() {
  local how=$1 field=$2 tag=$3
  cat "$work/$tag".*.out | awk -v f="$field" -v how="$how" '
    /^LOADGEN/ { for (i = 2; i <= NF; i++) { split($i, kv, "=");
                   if (kv[1] == f) { v = kv[2] + 0; s += v; if (v > m) m = v } } }
    END { if (how == "sum") printf "%.0f", s; else printf "%g", m }'
}

# ---- setup -------------------------------------------------------------------
"$bin/ferry-collector" keygen "$work/keys" > /dev/null
"$bin/ferry-loadgen" keys --count "$agents" --out "$work/agents" --allowed "$work/allowed" 2>&1 \
  | sed 's/^/ingest: /' >&2
cat > "$work/collector.conf" <<EOF
collector
    bind = "tcp://127.0.0.1:*"
    cert = "$work/keys/collector.cert_secret"
    allowed_agents = "$work/allowed"
    database = "$work/ferry.db"
    batch_max = ${BATCH_MAX:-20000}
    batch_wait = ${BATCH_WAIT:-50ms}
    sync_full = ${SYNC_FULL:-true}
    verbose = false
EOF
say "$agents agents, $(( (agents + per_proc - 1) / per_proc )) loadgen process(es), window $window" \
    "($(( agents * window )) in flight), rate ${rate}/s/agent, ${duration} s, work dir $work"

# ---- collector ---------------------------------------------------------------
"$bin/ferry-collector" -c "$work/collector.conf" 2> "$work/collector.log" &
collector=$!; pids+=("$collector")
endpoint=$(wait_listening "$work/collector.log" "$collector")
say "collector pid $collector on $endpoint"
echo 0 > "$work/rss.max"
sample_rss "$collector" "$work/rss.max" &
sampler=$!; pids+=("$sampler")

run_loadgens stored "$endpoint" --window "$window"
# CPU ticks of the whole collector and of its main (ingest) thread.
cpu_ticks() { awk '{ print $14 + $15 }' "$1" 2>/dev/null || echo 0; }
cpu_all=$(cpu_ticks "/proc/$collector/stat")
cpu_main=$(cpu_ticks "/proc/$collector/task/$collector/stat")
hwm_kb=$(vm_kb "$collector" VmHWM)
rss_kb=$(vm_kb "$collector" VmRSS)
stop_proc "$collector"
wait "$sampler" || true
forget "$sampler"
grep -h 'stopped:' "$work/collector.log" | sed 's/^/ingest: /' >&2 || say "collector printed no summary"

sent=$(lg_field sum sent stored)
acked=$(lg_field sum acked stored)
connected=$(lg_field sum connected stored)
elapsed=$(lg_field max elapsed_s stored)
p99=$(lg_field max p99_ms stored)
IFS='|' read -r rows distinct < <(sqlite3 -readonly "$work/ferry.db" \
  "SELECT count(*), count(DISTINCT agent_id || ':' || epoch || ':' || seq) FROM metric_samples")
duplicated=$(( rows - distinct ))
# Not acked within ACK_WAIT, plus acked but not in the database.
lost=$(( sent - acked + (acked > distinct ? acked - distinct : 0) ))
stored_rate=$(awk -v a="$acked" -v e="$elapsed" 'BEGIN { printf "%.0f", (e > 0 ? a / e : 0) }')
rss_mb=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.0f", k / 1024 }')
say "collector: connected $connected/$agents, sent $sent, acked $acked, rows $rows" \
    "(distinct $distinct), ${stored_rate} msgs/s, p99 ${p99} ms," \
    "VmRSS $(( rss_kb / 1024 )) MB (max sampled $(( $(cat "$work/rss.max") / 1024 )) MB), VmHWM ${rss_mb} MB"
hz=$(getconf CLK_TCK)
say "collector CPU per stored message (whole run, with connecting): $(awk -v t="$cpu_all" -v m="$cpu_main" \
    -v n="$acked" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f us, ingest thread %.1f us", t / hz / n * 1e6, m / hz / n * 1e6 }')"

# ---- bare sink -----------------------------------------------------------------
"$bin/ferry-sink" --bind 'tcp://127.0.0.1:*' --cert "$work/keys/collector.cert" \
  --allowed "$work/allowed" --duration $(( connect_wait + duration + 600 )) \
  > "$work/sink.out" 2> "$work/sink.log" &
sink=$!; pids+=("$sink")
endpoint=$(wait_listening "$work/sink.log" "$sink")
say "sink pid $sink on $endpoint"
run_loadgens bare "$endpoint" --no-ack
bare_connected=$(lg_field sum connected bare)
stop_proc "$sink"
sink_line=$(grep -h '^SINK' "$work/sink.out") || die "ferry-sink printed no result"
say "sink: connected $bare_connected/$agents, $sink_line"
bare_rate=$(sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p' <<< "$sink_line")
ratio=$(awk -v s="$stored_rate" -v b="$bare_rate" 'BEGIN { printf "%.3f", (b > 0 ? s / b : 0) }')

status=0
(( lost == 0 && duplicated == 0 )) || status=1
(( connected == agents && bare_connected == agents )) || { say "not every agent connected"; status=1; }
echo "RESULT ingest stored_msgs_per_s=$stored_rate bare_msgs_per_s=$bare_rate ratio=$ratio" \
     "p99_ms=$p99 agents=$agents rss_mb=$rss_mb lost=$lost duplicated=$duplicated"
exit $status

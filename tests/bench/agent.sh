#!/usr/bin/env bash
#   Agent footprint benchmark (behind `ferry-dev bench agent`).
#
#   tests/bench/agent.sh BIN_DIR [SECONDS=60]
#
#   Side by side on this machine, for the same period (>= 60 s) and interval (1 s):
#   - ferry-agent (platform linux, metrics every 1 s, heartbeat 5 s, every other
#     key at its default) reporting over CURVE to a ferry-collector on loopback;
#   - collectd (Debian collectd-core) in the foreground with exactly the cpu,
#     memory, disk, interface and load plugins, Interval 1, its own config in
#     the work directory and no write plugin (see below);
#   - prometheus-node-exporter on a loopback port with its default collectors,
#     scraped once a second by a curl loop (whose CPU is not counted).
#   collectd-core and prometheus-node-exporter are installed with apt-get when
#   missing (here only, not in the CI dependencies).
#
#   Measured per process over the period: CPU = utime+stime (+ cutime+cstime,
#   the children it waited for) from /proc/PID/stat, divided by the samples
#   taken in the period: for the agent the metrics rows the collector stored
#   for it with a send time in the period; for collectd period / interval (its
#   read loop runs on a fixed schedule; COLLECTD_WRITE=csv counts them); for
#   node_exporter the scrapes that succeeded. Peak RSS is VmHWM; for the agent
#   also Private_Dirty from smaps_rollup (what it allocated itself, as opposed
#   to shared library pages). The table also shows CPU from the per-thread
#   schedstat (ns resolution) as a cross-check of the 10 ms clock ticks.
#
#   collectd's output: by default none, its cheapest honest configuration, so
#   collectd is the strictest baseline. Measured here (ms of CPU per 1 s
#   sample, 60 s): no write plugin 1.29, network plugin to loopback 1.45, the
#   same with SecurityLevel Encrypt (the analogue of the agent's CURVE link)
#   1.29, csv into tmpfs 1.92 (it opens, appends and closes one file per value
#   list). Without a write plugin collectd logs "no write target" for every
#   value list, so its log plugin is set to LogLevel err. COLLECTD_WRITE=csv
#   (into /dev/shm) or network (encrypted, to a closed loopback UDP port)
#   selects the others; csv also counts collectd's samples from its load file.
#
#   Environment: COLLECTD_WRITE=none|csv|network  KEEP=1 keeps the work directory.
#
#   Last line:
#   RESULT agent cpu_ms_per_sample=X rss_mb=A dirty_mb=D collectd_cpu_ms_per_sample=Y collectd_rss_mb=B node_exporter_cpu_ms_per_scrape=Z node_exporter_rss_mb=C
set -euo pipefail

usage() { echo "usage: $0 BIN_DIR [SECONDS>=60]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
bin=$(cd "$1" && pwd) || usage
period=${2:-60}
[[ $period =~ ^[0-9]+$ ]] && (( period >= 60 )) || usage
interval=1
collectd_write=${COLLECTD_WRITE:-none}
[[ $collectd_write =~ ^(none|csv|network)$ ]] || { echo "agent.sh: COLLECTD_WRITE is none, csv or network" >&2; exit 2; }

say() { echo "agent-bench: $*" >&2; }
die() { echo "agent-bench: $*" >&2; exit 1; }

for tool in ferry-collector ferry-agent; do
  [[ -x $bin/$tool ]] || { echo "agent.sh: $bin/$tool is missing (build first)" >&2; exit 2; }
done
for tool in sqlite3 curl; do
  command -v "$tool" >/dev/null || { echo "agent.sh: $tool is needed" >&2; exit 2; }
done

# ---- the competitors -----------------------------------------------------------
install_missing() {
  local p missing=() sudo=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} )) || return 0
  command -v apt-get >/dev/null || die "install ${missing[*]} (apt-get not found)"
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install as root: ${missing[*]}"
    sudo=(sudo)
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  # The package may start its own node_exporter service on :9100; ours runs on its own port.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
install_missing collectd-core prometheus-node-exporter
collectd=$(command -v collectd || echo /usr/sbin/collectd)
node_exporter=$(command -v prometheus-node-exporter || echo /usr/bin/prometheus-node-exporter)
[[ -x $collectd && -x $node_exporter ]] || die "collectd or prometheus-node-exporter not found after install"
collectd_lib=/usr/lib/collectd
[[ -f $collectd_lib/cpu.so ]] || collectd_lib=$(dirname "$(dpkg -L collectd-core | grep -m1 '/cpu\.so$')")
types_db=/usr/share/collectd/types.db

# ---- work area and cleanup ----------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-agentbench.XXXXXX")
# collectd's csv output (COLLECTD_WRITE=csv) on tmpfs, so it never waits for a disk.
csvdir=
if [[ $collectd_write == csv ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    csvdir=$(mktemp -d /dev/shm/ferry-agentbench-csv.XXXXXX)
  else
    csvdir=$work/csv; mkdir "$csvdir"
  fi
fi
pids=()

cleanup() {
  local pid deadline
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP:-0} == 1 ]]; then
    say "work directory kept: $work${csvdir:+ (csv: $csvdir)}"
  else
    rm -rf "$work" ${csvdir:+"$csvdir"}
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Children still to stop on exit; reaped ones leave the list (their pid may be reused).
forget() {
  local p keep=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# Poll CMD (a shell snippet) until it succeeds; PID must stay alive; WHAT names it.
wait_for() {
  local what=$1 pid=$2 limit=$3 cmd=$4 deadline=$((SECONDS + $3))
  until eval "$cmd"; do
    kill -0 "$pid" 2>/dev/null || die "$what exited (see $work/*.log)"
    (( SECONDS < deadline )) || die "$what: not ready within $limit s"
    sleep 0.05
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $(( 20000 + RANDOM % 20000 ))
}

now_ms() { local t=$EPOCHREALTIME; echo $(( ${t/./} / 1000 )); }

# utime+stime+cutime+cstime of PID in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat"; }
# Sum of the run time of PID's threads now alive, in ns (schedstat).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
rollup_kb() { awk -v k="$2:" '$1 == k { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup"; }
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# ---- ferry: collector and agent ------------------------------------------------
"$bin/ferry-collector" keygen "$work/keys" >/dev/null
"$bin/ferry-agent" keygen "$work/agent-keys" >/dev/null
mkdir -m 700 "$work/agents.d" "$work/spool"
cp "$work/agent-keys/agent.cert" "$work/agents.d/"
agent_key=$(sed -n 's/^ *public-key *= *"\(.*\)"$/\1/p' "$work/agent-keys/agent.cert")
[[ -n $agent_key ]] || die "no public key in $work/agent-keys/agent.cert"
cat > "$work/collector.conf" <<EOF
collector
    bind = tcp://127.0.0.1:*
    cert = $work/keys/collector.cert_secret
    allowed_agents = $work/agents.d
    database = $work/ferry.db
EOF
"$bin/ferry-collector" -c "$work/collector.conf" 2> "$work/collector.log" &
collector=$!; pids+=("$collector")
wait_for ferry-collector "$collector" 60 "grep -q 'listening on tcp://' '$work/collector.log'"
endpoint=$(grep -o -m1 'listening on tcp://[^ ]*' "$work/collector.log" | sed 's/^listening on //')

cat > "$work/agent.conf" <<EOF
agent
    collector = $endpoint
    collector_cert = $work/keys/collector.cert
    cert = $work/agent-keys/agent.cert_secret
    spool_dir = $work/spool
    platform = linux
    metrics_interval = ${interval}s
    heartbeat = 5s
EOF
"$bin/ferry-agent" run -c "$work/agent.conf" 2> "$work/agent.log" &
agent=$!; pids+=("$agent")

# ---- collectd -------------------------------------------------------------------
mkdir "$work/collectd"
{
  cat <<EOF
Hostname "bench"
FQDNLookup false
BaseDir "$work/collectd"
PIDFile "$work/collectd/collectd.pid"
PluginDir "$collectd_lib"
TypesDB "$types_db"
Interval $interval
LoadPlugin logfile
<Plugin logfile>
    LogLevel "err"
    File "$work/collectd.log"
</Plugin>
LoadPlugin cpu
LoadPlugin memory
LoadPlugin disk
LoadPlugin interface
LoadPlugin load
EOF
  if [[ $collectd_write == csv ]]; then
    cat <<EOF
LoadPlugin csv
<Plugin csv>
    DataDir "$csvdir"
    StoreRates false
</Plugin>
EOF
  elif [[ $collectd_write == network ]]; then
    cat <<EOF
LoadPlugin network
<Plugin network>
    <Server "127.0.0.1" "$(free_port)">
        SecurityLevel Encrypt
        Username "bench"
        Password "bench"
    </Server>
</Plugin>
EOF
  fi
} > "$work/collectd.conf"
"$collectd" -f -C "$work/collectd.conf" > "$work/collectd.out" 2>&1 &
collectd_pid=$!; pids+=("$collectd_pid")

# ---- node_exporter and its scraper ---------------------------------------------
ne_port=$(free_port)
"$node_exporter" --web.listen-address="127.0.0.1:$ne_port" > "$work/node_exporter.log" 2>&1 &
ne_pid=$!; pids+=("$ne_pid")
wait_for node_exporter "$ne_pid" 60 "curl -fsS -o /dev/null 'http://127.0.0.1:$ne_port/metrics' 2>/dev/null"

# One scrape a second on a fixed schedule; each good one logs its start time (ms).
scraper() {
  trap 'exit 0' TERM   # after the running curl or sleep, so no child is left behind
  local next now_us
  next=${EPOCHREALTIME/./}
  while :; do
    now_us=${EPOCHREALTIME/./}
    if (( next > now_us )); then
      sleep "$(printf '%d.%06d' $(( (next - now_us) / 1000000 )) $(( (next - now_us) % 1000000 )))"
    fi
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$ne_port/metrics" 2>/dev/null \
      && echo $(( next / 1000 )) >> "$work/scrapes"
    next=$(( next + interval * 1000000 ))
  done
}
scraper &
pids+=("$!")

# ---- ready? ----------------------------------------------------------------------
q() { sqlite3 -cmd '.timeout 5000' "$work/ferry.db" "$1" 2>/dev/null; }
agent_rows_since() { # rows of our agent with time_ms >= $1 (and < $2 when given)
  q "SELECT count(*) FROM metric_samples m JOIN agents a ON a.id = m.agent_id
     WHERE a.key = '$agent_key' AND m.time_ms >= $1 ${2:+AND m.time_ms < $2}"
}
wait_for ferry-agent "$agent" 60 "[[ \$(agent_rows_since 0) -ge 1 ]]"
kill -0 "$collectd_pid" 2>/dev/null || die "collectd exited: $(cat "$work/collectd.out" "$work/collectd.log" 2>/dev/null)"
# collectd starts its read threads once every plugin is initialised.
wait_for collectd "$collectd_pid" 60 "(( \$(threads $collectd_pid) > 1 ))"
if [[ $collectd_write == csv ]]; then
  wait_for collectd "$collectd_pid" 60 "compgen -G '$csvdir/bench/load/load-*' >/dev/null"
fi
say "ferry-agent $agent -> collector $collector on $endpoint; collectd $collectd_pid" \
    "(write: $collectd_write); node_exporter $ne_pid on 127.0.0.1:$ne_port; ${period} s at ${interval} s"

# ---- the measured period -------------------------------------------------------
declare -A t0 n0
procs=(agent collectd node_exporter)
declare -A pid_of=([agent]=$agent [collectd]=$collectd_pid [node_exporter]=$ne_pid)
start_ms=$(now_ms)
for p in "${procs[@]}"; do t0[$p]=$(cpu_ticks "${pid_of[$p]}"); n0[$p]=$(cpu_ns "${pid_of[$p]}"); done
# In the background, so that a signal ends the wait at once (and cleanup stops it).
sleep "$period" & pids+=("$!")
wait "$!" || true
forget "$!"
declare -A t1 n1
for p in "${procs[@]}"; do t1[$p]=$(cpu_ticks "${pid_of[$p]}"); n1[$p]=$(cpu_ns "${pid_of[$p]}"); done
end_ms=$(now_ms)
for p in "${procs[@]}"; do kill -0 "${pid_of[$p]}" 2>/dev/null || die "$p exited during the period"; done

# Memory, taken before anything stops.
declare -A hwm rss
for p in "${procs[@]}"; do
  hwm[$p]=$(status_kb "${pid_of[$p]}" VmHWM); rss[$p]=$(status_kb "${pid_of[$p]}" VmRSS)
done
dirty_kb=$(rollup_kb "$agent" Private_Dirty)
anon_kb=$(rollup_kb "$agent" Anonymous)
shared_clean_kb=$(rollup_kb "$agent" Shared_Clean)
private_clean_kb=$(rollup_kb "$agent" Private_Clean)
declare -A nthreads
for p in "${procs[@]}"; do nthreads[$p]=$(threads "${pid_of[$p]}"); done

# ---- samples in the period -----------------------------------------------------
# The agent: rows stored for it, sent in the period. Wait until a later one is stored.
wait_for "collector (rows after the period)" "$collector" 30 "[[ \$(agent_rows_since $end_ms) -ge 1 ]]"
declare -A samples
samples[agent]=$(agent_rows_since "$start_ms" "$end_ms")
if [[ $collectd_write == csv ]]; then
  # One line per read of the load plugin: "epoch,short,mid,long" (plus one header per file).
  samples[collectd]=$(cat "$csvdir"/bench/load/load-* | awk -F, -v a="$start_ms" -v b="$end_ms" \
    '$1 ~ /^[0-9.]+$/ && $1 * 1000 >= a && $1 * 1000 < b { n++ } END { print n + 0 }')
else
  samples[collectd]=$(( (end_ms - start_ms) / (interval * 1000) ))
fi
samples[node_exporter]=$(awk -v a="$start_ms" -v b="$end_ms" '$1 >= a && $1 < b { n++ } END { print n + 0 }' \
  "$work/scrapes")
for p in "${procs[@]}"; do (( samples[$p] > 0 )) || die "$p: no samples in the period"; done

# ---- report --------------------------------------------------------------------
declare -A per_sample per_sample_ns mb
for p in "${procs[@]}"; do
  per_sample[$p]=$(awk -v d=$(( t1[$p] - t0[$p] )) -v hz="$hz" -v n="${samples[$p]}" \
    'BEGIN { printf "%.2f", d * 1000 / hz / n }')
  per_sample_ns[$p]=$(awk -v d=$(( n1[$p] - n0[$p] )) -v n="${samples[$p]}" 'BEGIN { printf "%.2f", d / 1e6 / n }')
  mb[$p]=$(awk -v k="${hwm[$p]}" 'BEGIN { printf "%.1f", k / 1024 }')
done
dirty_mb=$(awk -v k="$dirty_kb" 'BEGIN { printf "%.1f", k / 1024 }')
elapsed=$(awk -v a="$start_ms" -v b="$end_ms" 'BEGIN { printf "%.1f", (b - a) / 1000 }')

{
  printf '\n%-14s %8s %9s %11s %12s %9s %9s %8s\n' process samples cpu_ms "ms/sample" "(schedstat)" \
    hwm_mb rss_mb threads
  for p in "${procs[@]}"; do
    printf '%-14s %8d %9.0f %11s %12s %9s %9.1f %8s\n' "$p" "${samples[$p]}" \
      "$(awk -v d=$(( t1[$p] - t0[$p] )) -v hz="$hz" 'BEGIN { print d * 1000 / hz }')" \
      "${per_sample[$p]}" "${per_sample_ns[$p]}" "${mb[$p]}" \
      "$(awk -v k="${rss[$p]}" 'BEGIN { print k / 1024 }')" "${nthreads[$p]}"
  done
  printf '\n(schedstat: ms/sample again, from the ns run times of the threads; period %s s, CPU in %s Hz ticks)\n' "$elapsed" "$hz"
  printf 'ferry-agent smaps_rollup: Private_Dirty %s kB, Anonymous %s kB, Private_Clean %s kB, Shared_Clean %s kB\n' \
    "$dirty_kb" "$anon_kb" "$private_clean_kb" "$shared_clean_kb"
  printf 'collectd write plugin: %s; node_exporter: default collectors\n\n' "$collectd_write"
}
echo "RESULT agent cpu_ms_per_sample=${per_sample[agent]} rss_mb=${mb[agent]} dirty_mb=$dirty_mb" \
     "collectd_cpu_ms_per_sample=${per_sample[collectd]} collectd_rss_mb=${mb[collectd]}" \
     "node_exporter_cpu_ms_per_scrape=${per_sample[node_exporter]} node_exporter_rss_mb=${mb[node_exporter]}"

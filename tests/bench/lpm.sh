#!/usr/bin/env bash
# LPM benchmark behind `packaging/ferry-dev bench lpm`: PARTITIONS simulated
# AIX partitions (default 1000), each with a real ferry-agent, on SYSTEMS
# systems of ferry-hmcsim (default 20: the first half are sources, each
# partition moves to the system SYSTEMS/2 further on), short simulated moves,
# one plan driven by the collector's planner through its HTTP API.
#
# Verify latency = from the simulator completing a move (its completed_ms)
# to the planner finishing that move (moves.finished_ms, verified).
# Usage: lpm.sh BIN_DIR [PARTITIONS] [SYSTEMS]
# Environment: PER_SYSTEM=8 (MaximumActiveMigrations and the plan's cap),
#   JOB=300ms BLACKOUT=50ms DEADLINE=1800 (seconds), KEEP=1 keeps the work dir,
#   VERBOSE=true logs every HMC request of the collector with its time.
set -euo pipefail
bin=$(cd "${1:?usage: lpm.sh BIN_DIR [PARTITIONS] [SYSTEMS]}" && pwd)
partitions=${2:-1000}
systems=${3:-20}
per_system=${PER_SYSTEM:-8}
job=${JOB:-300ms}
blackout=${BLACKOUT:-50ms}
deadline=${DEADLINE:-1800}
dir=$(mktemp -d /tmp/ferry-bench-lpm-XXXXXX)
pids=()
say() { printf 'lpm: %s\n' "$*" >&2; }
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && say "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # description, seconds, command...
  local what=$1 limit=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || { say "timed out waiting for $what"; exit 1; }
    sleep 0.2
  done
}
sys_name() { printf 'sys%02d' "$1"; }
lpar_name() { printf 'lpar%04d' "$1"; }

say "$partitions partitions on $systems systems, $per_system moves at once per system"
mkdir -m 700 "$dir/tls" "$dir/agents.d"
"$bin/ferry-hmcsim" gencert "$dir/tls" >/dev/null
printf 'abc123\n' >"$dir/hmc.pw" && chmod 600 "$dir/hmc.pw"
printf 'bench-token\n' >"$dir/api.token" && chmod 600 "$dir/api.token"
"$bin/ferry-collector" keygen "$dir/ck" >/dev/null

{
  printf 'hmcsim\n    port = 0\n    port_file = %s/hmc.port\n    cert_file = %s/tls/cert.pem\n' "$dir" "$dir"
  printf '    key_file = %s/tls/key.pem\n    user = hscroot\n    password_file = %s/hmc.pw\n' "$dir" "$dir"
  printf '    stats_file = %s/stats.json\n    job_duration = %s\n    blackout = %s\n' "$dir" "$job" "$blackout"
  printf '    validate_duration = 50ms\n    job_start_delay = 10ms\n'
  for ((s = 1; s <= systems; s++)); do
    printf 'system\n    name = %s\n    serial = %07d\n    max_active_migrations = %d\n' \
      "$(sys_name "$s")" "$((1000000 + s))" "$per_system"
    printf '    memory_mb = 16777216\n    proc_units = 4096\n'
  done
} >"$dir/hmcsim.conf"

half=$((systems / 2))
say "creating partitions and agent keys"
moves=()
for ((i = 1; i <= partitions; i++)); do
  name=$(lpar_name "$i")
  src=$(( (i - 1) % half + 1 ))
  dst=$((src + half))
  a="$dir/$name"
  mkdir -p "$a"
  "$bin/ferry-simlpar" create "$a/lpar" --name "$name" --number "$i" --serial "$(printf '%07d' $((1000000 + src)))" \
    --memory-mb 1024 --entitled 0.1 >/dev/null
  "$bin/ferry-agent" keygen "$a/keys" >/dev/null
  cp "$a/keys/agent.cert" "$dir/agents.d/$name.cert"
  mkdir -m 700 "$a/spool"
  printf 'partition\n    name = %s\n    system = %s\n    memory_mb = 1024\n    proc_units = 0.1\n' \
    "$name" "$(sys_name "$src")" >>"$dir/hmcsim.conf"
  printf '    simlpar = %s/lpar\n    agent_spool = %s/spool\n    agent_pid_file = %s/agent.pid\n' \
    "$a" "$a" "$a" >>"$dir/hmcsim.conf"
  moves+=("{\"partition\": \"$name\", \"to\": \"$(sys_name "$dst")\"}")
done
chmod 600 "$dir/hmcsim.conf"

"$bin/ferry-hmcsim" -c "$dir/hmcsim.conf" 2>"$dir/hmcsim.log" &
hmcsim=$!
pids+=($hmcsim)
wait_for "the HMC simulator" 60 test -s "$dir/hmc.port"
hmc_port=$(cat "$dir/hmc.port")
port=$(free_port)
api_port=$(free_port)
cat >"$dir/collector.conf" <<CONF
collector
    bind = tcp://127.0.0.1:$port
    cert = $dir/ck/collector.cert_secret
    allowed_agents = $dir/agents.d
    database = $dir/ferry.db
    verbose = ${VERBOSE:-false}
hmc
    name = hmc1
    url = https://127.0.0.1:$hmc_port
    user = hscroot
    password_file = $dir/hmc.pw
    ca_file = $dir/tls/cert.pem
api
    port = $api_port
    token_file = $dir/api.token
CONF
"$bin/ferry-collector" -c "$dir/collector.conf" 2>"$dir/collector.log" &
collector=$!
pids+=($collector)
wait_for "the collector" 60 grep -q "HTTP API on" "$dir/collector.log"

say "starting $partitions agents"
for ((i = 1; i <= partitions; i++)); do
  name=$(lpar_name "$i")
  a="$dir/$name"
  cat >"$a/agent.conf" <<CONF
agent
    collector = tcp://127.0.0.1:$port
    collector_cert = $dir/ck/collector.cert
    cert = $a/keys/agent.cert_secret
    spool_dir = $a/spool
    pid_file = $a/agent.pid
    platform = aix
    bin_dir = $a/lpar/bin
    etc_root = $a/lpar
    proc_root = $a/lpar/proc
    heartbeat = 5s
    metrics_interval = 60s
    facts_interval = 10m
CONF
  "$bin/ferry-agent" run -c "$a/agent.conf" 2>"$a/agent.log" &
  pids+=($!)
done
facts() { [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM facts_current" 2>/dev/null || echo 0) -ge $partitions ]]; }
wait_for "every agent's facts" 600 facts

( IFS=,; printf '{"name": "bench", "hmc": "hmc1", "outage_budget_ms": 5000, "concurrency": {"per_system": %d}, "moves": [%s]}\n' \
  "$per_system" "${moves[*]}" ) >"$dir/plan.json"
ctl=("$bin/ferryctl" --url "http://127.0.0.1:$api_port" --token-file "$dir/api.token")
"${ctl[@]}" plan submit "$dir/plan.json" >/dev/null
cpu0=$(awk '{print $14 + $15}' "/proc/$collector/stat")
start=$SECONDS
"${ctl[@]}" plan start 1 >/dev/null
final() { [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state IN ('verified','failed','blocked','aborted')") -ge $partitions ]]; }
wait_for "every move to end" "$deadline" final
elapsed=$((SECONDS - start))
cpu1=$(awk '{print $14 + $15}' "/proc/$collector/stat")
hz=$(getconf CLK_TCK)
kill -TERM "$hmcsim"
wait_for "the simulator's stats" 60 test -s "$dir/stats.json"

verified=$(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state = 'verified'")
failed=$(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state <> 'verified'")
# Verify latency per move: planner's finish minus the simulator's completion.
sqlite3 "$dir/ferry.db" "SELECT partition, finished_ms FROM moves WHERE state = 'verified'" | tr '|' ' ' >"$dir/finished.txt"
python3 - "$dir/stats.json" "$dir/finished.txt" >"$dir/figures.txt" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
done = {}
for m in stats.get("moves", []):
    if m.get("status") == "COMPLETED_OK":
        done[m["partition"]] = max(done.get(m["partition"], 0), m.get("completed_ms") or 0)
lat = sorted(int(f) - done[p] for p, f in (l.split() for l in open(sys.argv[2])) if p in done)
def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
dup = sum(max(0, p.get("migrate_submissions", 0) - 1) for p in stats.get("partitions", []))
print(pct(0.5), pct(0.99), stats.get("limit_violations", -1), dup)
PY
read -r p50 p99 violations duplicates <"$dir/figures.txt"
cpu_ms=$(( (cpu1 - cpu0) * 1000 / hz ))
per_move=$(awk -v c="$cpu_ms" -v n="$partitions" 'BEGIN { printf "%.1f", c / n }')
say "$verified verified, $failed not, in ${elapsed}s; collector CPU ${cpu_ms} ms"
echo "RESULT lpm moves=$partitions verified=$verified verify_p50_ms=$p50 verify_p99_ms=$p99 collector_cpu_ms_per_move=$per_move limit_violations=$violations duplicate_submissions=$duplicates"

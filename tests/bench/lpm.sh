#!/usr/bin/env bash
# LPM benchmark behind `packaging/ferry-dev bench lpm`: PARTITIONS simulated
# AIX partitions (default 1000), each with a real ferry-agent, on SYSTEMS
# systems of ferry-hmcsim (default 20: the first half are sources, each
# partition moves to the system SYSTEMS/2 further on), short simulated moves,
# one plan driven by the collector's planner through its HTTP API.
#
# Verify latency = from the simulator completing a move (its completed_ms)
# to the planner finishing that move (moves.finished_ms, verified). Printed
# too: its stages (p50 / p99 of each, the agent's share apart from the
# collector's) and the CPU the collector, the simulator and the agents used
# during the plan.
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
agents=()
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
  agents+=($!)
done
facts() { [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM facts_current" 2>/dev/null || echo 0) -ge $partitions ]]; }
wait_for "every agent's facts" 600 facts

( IFS=,; printf '{"name": "bench", "hmc": "hmc1", "outage_budget_ms": 5000, "concurrency": {"per_system": %d}, "moves": [%s]}\n' \
  "$per_system" "${moves[*]}" ) >"$dir/plan.json"
ctl=("$bin/ferryctl" --url "http://127.0.0.1:$api_port" --token-file "$dir/api.token")
"${ctl[@]}" plan submit "$dir/plan.json" >/dev/null
# CPU ticks of processes (utime + stime + cutime + cstime: with the children
# they waited for, the agents' fake AIX commands), summed.
cpu_ticks() {
  local pid sum=0 f
  for pid in "$@"; do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    f=${f##*) }   # the fields after "(comm) "
    read -r -a f <<<"$f"
    ((sum += f[11] + f[12] + f[13] + f[14]))
  done
  echo "$sum"
}
cpu0=$(awk '{print $14 + $15}' "/proc/$collector/stat")
sim_cpu0=$(cpu_ticks "$hmcsim")
agents_cpu0=$(cpu_ticks "${agents[@]}")
say "load before the plan: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$SECONDS
"${ctl[@]}" plan start 1 >/dev/null
final() { [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state IN ('verified','failed','blocked','aborted')") -ge $partitions ]]; }
wait_for "every move to end" "$deadline" final
elapsed=$((SECONDS - start))
cpu1=$(awk '{print $14 + $15}' "/proc/$collector/stat")
sim_cpu1=$(cpu_ticks "$hmcsim")
agents_cpu1=$(cpu_ticks "${agents[@]}")
say "load after the plan: $(cut -d' ' -f1-3 /proc/loadavg)"
hz=$(getconf CLK_TCK)
kill -TERM "$hmcsim"
wait_for "the simulator's stats" 60 test -s "$dir/stats.json"

verified=$(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state = 'verified'")
failed=$(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM moves WHERE state <> 'verified'")
# Verify latency per move: planner's finish minus the simulator's completion,
# and its stages, from the simulator's stats (completion, the collector's first
# poll that saw it, its read of the placement), the events the agent sent
# (time_ms: the agent's clock = this machine's; stored_ms: read by the
# collector) and the moves rows.
sqlite3 "$dir/ferry.db" "SELECT partition, finished_ms FROM moves WHERE state = 'verified'" | tr '|' ' ' >"$dir/finished.txt"
sqlite3 -separator ' ' "$dir/ferry.db" "SELECT a.hostname, CASE e.kind WHEN 'lpm_phase' THEN
  'lpm_' || json_extract(e.attrs_json, '$.phase') ELSE e.kind END, e.time_ms, e.stored_ms
  FROM events e JOIN agents a ON a.id = e.agent_id WHERE e.kind IN ('lpm_phase', 'serial_changed')" \
  >"$dir/events.txt"
python3 - "$dir/stats.json" "$dir/finished.txt" "$dir/events.txt" >"$dir/figures.txt" 2>"$dir/stages.txt" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
done = {}
for m in stats.get("moves", []):
    if m.get("status") == "COMPLETED_OK" and (m.get("completed_ms") or 0) >= done.get(m["partition"], {}).get("completed_ms", 0):
        done[m["partition"]] = m
events = {}
for line in open(sys.argv[3]):
    host, kind, sent, stored = line.split()
    events.setdefault(host, {})[kind] = (int(sent), int(stored))   # the latest of each kind
finished = {p: int(f) for p, f in (l.split() for l in open(sys.argv[2]))}
def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else -1
lat = [f - done[p]["completed_ms"] for p, f in finished.items() if p in done]
# Stages, from the simulator completing the move (C). The move is verified
# when the collector has seen the job end, read the placement, and has the
# agent's lpm post event and serial_changed event.
stages = {k: [] for k in ("agent_post_sent", "agent_serial_sent", "ingest_lag", "agent_share",
                          "job_end_seen", "poll_after_post", "placement_read", "verified_after_read",
                          "after_evidence", "collector_share")}
for p, f in finished.items():
    m, ev = done.get(p), events.get(p, {})
    if not m or "lpm_post" not in ev or "serial_changed" not in ev or not m.get("final_polled_ms") \
            or not m.get("placement_read_ms"):
        continue
    c = m["completed_ms"]
    post, serial = ev["lpm_post"], ev["serial_changed"]
    agent = max(0, post[0] - c, serial[0] - c)          # the agent's last word, sent
    evidence = max(c, post[1], serial[1])               # everything needed, read by the collector
    stages["agent_post_sent"].append(post[0] - c)
    stages["agent_serial_sent"].append(serial[0] - c)
    stages["ingest_lag"].append(max(post[1] - post[0], serial[1] - serial[0]))
    stages["agent_share"].append(agent)
    stages["job_end_seen"].append(m["final_polled_ms"] - c)
    stages["poll_after_post"].append(m["final_polled_ms"] - max(c, post[1]))
    stages["placement_read"].append(m["placement_read_ms"] - m["final_polled_ms"])
    stages["verified_after_read"].append(f - m["placement_read_ms"])
    stages["after_evidence"].append(f - evidence)
    stages["collector_share"].append(f - c - agent)
what = {
    "agent_post_sent": "agent: lpm post event sent, from completion (hmcsim waits for its answer)",
    "agent_serial_sent": "agent: serial_changed sent (identity probe after post)",
    "ingest_lag": "collector: the later of those two read after sent (ingest queue)",
    "agent_share": "agent share: its last word sent, after completion (>= 0)",
    "job_end_seen": "collector: first poll answered final, after completion",
    "poll_after_post": "collector: that poll, after completion and the post event read",
    "placement_read": "collector: placement GET, after that poll",
    "verified_after_read": "collector: verified (finished_ms), after the placement GET",
    "after_evidence": "collector: verified, after completion and both events read",
    "collector_share": "collector share: verify latency minus the agent share",
}
for k, v in stages.items():
    print("stage %-20s p50 %5d p99 %5d ms  %s" % (k, pct(v, 0.5), pct(v, 0.99), what[k]), file=sys.stderr)
dup = sum(max(0, p.get("migrate_submissions", 0) - 1) for p in stats.get("partitions", []))
polls = [m.get("polls", 0) for m in done.values()]
print("stage %-20s p50 %5d p99 %5d     GETs of each Migrate job" % ("job_polls", pct(polls, 0.5), pct(polls, 0.99)), file=sys.stderr)
print(pct(lat, 0.5), pct(lat, 0.99), stats.get("limit_violations", -1), dup,
      pct(stages["collector_share"], 0.5), pct(stages["collector_share"], 0.99))
PY
cat "$dir/stages.txt" >&2
read -r p50 p99 violations duplicates c50 c99 <"$dir/figures.txt"
cpu_ms=$(( (cpu1 - cpu0) * 1000 / hz ))
per_move=$(awk -v c="$cpu_ms" -v n="$partitions" 'BEGIN { printf "%.1f", c / n }')
sim_ms=$(( (sim_cpu1 - sim_cpu0) * 1000 / hz ))
agents_ms=$(( (agents_cpu1 - agents_cpu0) * 1000 / hz ))
say "$verified verified, $failed not, in ${elapsed}s; collector CPU ${cpu_ms} ms"
say "CPU during the plan: collector ${cpu_ms} ms, ferry-hmcsim ${sim_ms} ms, agents (with their commands) ${agents_ms} ms"
echo "RESULT lpm moves=$partitions verified=$verified verify_p50_ms=$p50 verify_p99_ms=$p99 collector_cpu_ms_per_move=$per_move limit_violations=$violations duplicate_submissions=$duplicates\
 verify_collector_p50_ms=$c50 verify_collector_p99_ms=$c99\
 hmcsim_cpu_ms_per_move=$(awk -v c="$sim_ms" -v n="$partitions" 'BEGIN { printf "%.1f", c / n }')\
 agents_cpu_ms_per_move=$(awk -v c="$agents_ms" -v n="$partitions" 'BEGIN { printf "%.1f", c / n }')"

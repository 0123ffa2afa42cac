#!/usr/bin/env bash
# The demo until the fleet demo exists: a collector and a handful of agents
# on loopback with CURVE, each agent on a simulated AIX partition (fake AIX
# commands over a state directory). Shows them reporting, moves one partition
# the way an HMC would (its serial changes, the LPM hook fires) and shows the
# event the agent reported, then stops everything cleanly.
# Usage: spine-demo.sh BIN_DIR [AGENTS] [SECONDS]
set -euo pipefail
bin=${1:?usage: spine-demo.sh BIN_DIR [AGENTS] [SECONDS]}
agents=${2:-5}
seconds=${3:-6}
dir=$(mktemp -d /tmp/ferry-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 25560)
say() { printf '\n== %s\n' "$*"; }

say "keys: one collector key pair, one per agent; the collector allows only listed agents"
"$bin/ferry-collector" keygen "$dir/collector-keys" >/dev/null
mkdir -m 700 "$dir/agents.d"
cat > "$dir/collector.conf" <<CONF
collector
    bind = tcp://127.0.0.1:$port
    cert = $dir/collector-keys/collector.cert_secret
    allowed_agents = $dir/agents.d
    database = $dir/ferry.db
    seen_flush = 200ms
CONF
serials=(21C48FV 21C48FW 0A1B2C3 7D8E9F0 11AA22B 33CC44D 55EE66F 77GG88H 99JJ00K)
for i in $(seq 1 "$agents"); do
  a="$dir/agent$i"
  mkdir -p "$a"
  "$bin/ferry-agent" keygen "$a/keys" >/dev/null
  cp "$a/keys/agent.cert" "$dir/agents.d/agent$i.cert"
  mkdir -m 700 "$a/spool"
  "$bin/ferry-simlpar" create "$a/lpar" --name "lpar0$i" --number "$i" \
    --serial "${serials[$(( (i - 1) % 2 ))]}" >/dev/null
  cat > "$a/agent.conf" <<CONF
agent
    collector = tcp://127.0.0.1:$port
    collector_cert = $dir/collector-keys/collector.cert
    cert = $a/keys/agent.cert_secret
    spool_dir = $a/spool
    platform = aix
    bin_dir = $a/lpar/bin
    etc_root = $a/lpar
    proc_root = $a/lpar/proc
    heartbeat = 500ms
    metrics_interval = 1s
CONF
done
echo "collector key, $agents agent keys and $agents simulated AIX partitions in $dir"

say "starting ferry-collector on 127.0.0.1:$port and $agents agents"
"$bin/ferry-collector" -c "$dir/collector.conf" 2>"$dir/collector.log" &
pids+=($!)
for i in $(seq 1 "$agents"); do
  "$bin/ferry-agent" run -c "$dir/agent$i/agent.conf" 2>"$dir/agent$i/agent.log" &
  pids+=($!)
done

# Wait (with a deadline) until every agent has stored something.
deadline=$((SECONDS + 30))
until [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM agents WHERE acked_seq > 0" 2>/dev/null || echo 0) -ge $agents ]]; do
  ((SECONDS < deadline)) || { echo "agents did not report in time; logs in $dir" >&2; cat "$dir/collector.log" >&2; exit 1; }
  sleep 0.2
done
echo "all $agents agents connected; letting them report for ${seconds}s"
sleep "$seconds"

say "agents as the collector sees them"
sqlite3 -header -column "$dir/ferry.db" "
  SELECT substr(a.key, 1, 12) || '…' AS agent_key, a.platform,
         json_extract(f.json, '$.partition.name') AS partition,
         json_extract(f.json, '$.system.serial') AS serial,
         json_extract(f.json, '$.os.level') AS oslevel,
         json_extract(f.json, '$.rootvg.disks[0]') AS rootvg,
         a.acked_seq AS acked, (SELECT count(*) FROM metric_samples m WHERE m.agent_id = a.id) AS metrics,
         strftime('%H:%M:%f', a.last_seen_ms / 1000.0, 'unixepoch') AS last_seen
  FROM agents a JOIN facts_current f ON f.agent_id = a.id ORDER BY partition"

say "moving lpar01 the way an HMC would: its serial becomes 78AB12C, the LPM post hook fires"
"$bin/ferry-simlpar" set "$dir/agent1/lpar" serial 78AB12C
"$bin/ferry-agent" notify lpm-post -c "$dir/agent1/agent.conf"
deadline=$((SECONDS + 10))
until [[ $(sqlite3 "$dir/ferry.db" "SELECT count(*) FROM events WHERE kind = 'serial_changed'" 2>/dev/null || echo 0) -ge 1 ]]; do
  ((SECONDS < deadline)) || { echo "no serial_changed event in time" >&2; exit 1; }
  sleep 0.1
done
sqlite3 -header -column "$dir/ferry.db" "
  SELECT e.kind, e.message, e.attrs_json AS attrs,
         strftime('%H:%M:%f', e.stored_ms / 1000.0, 'unixepoch') AS stored
  FROM events e ORDER BY e.id"

say "latest metrics per agent"
sqlite3 -header -column "$dir/ferry.db" "
  SELECT json_extract(f.json, '$.partition.name') AS partition,
         json_extract(m.seqs, '\$[' || (m.samples - 1) || ']') AS seq,
         printf('%.1f', m.cpu_user) AS cpu_user, printf('%.1f', m.cpu_sys) AS cpu_sys,
         printf('%.0f', m.mem_free_mb) AS mem_free_mb, printf('%.2f', m.load1) AS load1
  FROM metrics m JOIN agents a ON a.id = m.agent_id JOIN facts_current f ON f.agent_id = a.id
  WHERE m.rowid = (SELECT max(rowid) FROM metrics WHERE agent_id = m.agent_id) ORDER BY partition"

say "stopping: agents first, then the collector (SIGTERM: commit, ack, exit 0)"
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}" && echo "pid ${pids[$i]} exited 0" || echo "pid ${pids[$i]} exited $?"
done
pids=()
sqlite3 "$dir/ferry.db" "SELECT 'stored: ' || (SELECT count(*) FROM metric_samples) || ' metrics, ' ||
  (SELECT count(*) FROM facts_history) || ' facts from ' || (SELECT count(*) FROM agents) || ' agents'"

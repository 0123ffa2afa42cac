# Shared by the benchmarks that start a collector and load generators
# (ingest.sh, poison.sh): sourced, not run.
#
#   bench_start NAME WORK_PREFIX TOOL...
#     checks BIN_DIR ($bin) has every TOOL and that sqlite3 is there, makes
#     $work (mktemp under TMPDIR), and on exit stops every pid in $pids and
#     removes $work (KEEP=1 keeps it). Defines say / die prefixed with NAME
#     and raises the open-file limit (one TCP connection per agent).

bench_start() {
  bench_name=$1
  local prefix=$2 tool
  shift 2
  for tool in "$@"; do
    [[ -x $bin/$tool ]] || { echo "$bench_name: $bin/$tool is missing (build first)" >&2; exit 2; }
  done
  command -v sqlite3 >/dev/null || { echo "$bench_name: sqlite3 is needed" >&2; exit 2; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  ulimit -n "$(ulimit -Hn)"
}

bench_cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}

say() { echo "$bench_name: $*" >&2; }
die() { echo "$bench_name: $*" >&2; exit 1; }

# Children still to stop on exit; reaped ones leave the list (their pid may be reused).
forget() {
  local p keep=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# Poll LOG until PID reports its endpoint; print it.
wait_listening() {
  local log=$1 pid=$2 deadline=$((SECONDS + 120))
  until grep -q 'listening on tcp://' "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$(basename "$log" .log) exited before listening"; }
    (( SECONDS < deadline )) || die "$(basename "$log" .log) did not listen within 120 s"
    sleep 0.05
  done
  grep -o -m1 'listening on tcp://[^ ]*' "$log" | sed 's/^listening on //'
}

# SIGTERM PID and wait for it, SIGKILL after 60 s.
stop_proc() {
  local pid=$1 deadline=$((SECONDS + 60))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      say "pid $pid ignored SIGTERM for 60 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

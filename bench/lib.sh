# Shared by the benchmark scripts (bench/run.sh, plugins/usage/bench/run.sh): settings, pinning,
# the bench token, and bench_run, which starts one server, warms it up, loads it with wrk and
# prints "req/s p99-ms". Loopback only, bounded in time. Source it from the repository root.
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
BUN=node_modules/.bin/bun
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }
command -v bc >/dev/null || { echo "bc is required: apt-get install bc"; exit 1; }
# Server on core 0, wrk on core 1, when there are two.
PIN_SERVER=""; PIN_LOAD=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; fi

export AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret
export LOG_LEVEL=warn RATE_LIMIT_DEFAULT=100000000/minute
# BENCH_DATABASE_URL runs the full stack on a PostgreSQL server instead of embedded PGlite.
if [ -n "${BENCH_DATABASE_URL:-}" ]; then export DATABASE_URL=$BENCH_DATABASE_URL; fi
TOKEN=$($BUN bench/token.ts)

# start_server NAME SCRIPT PORT LOG DIR [VAR=value ...] -> pid, once the server logged "listening"
# (on the server CPU, with DIR as its DATA_DIR); exits the script if it did not start in 60 s.
start_server() {
  local name=$1 script=$2 port=$3 log=$4 dir=$5; shift 5
  env "$@" DATA_DIR="$dir" PORT="$port" $PIN_SERVER $BUN "$script" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do grep -q listening "$log" && break; sleep 0.2; done
  grep -q listening "$log" || { echo "$name did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  echo "$pid"
}

# stop_server PID...: SIGTERM, then wait until each has exited (they are not this shell's children:
# start_server ran in a command substitution, so `wait` cannot be used).
stop_server() {
  kill -TERM "$@" 2>/dev/null || true
  for pid in "$@"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
}

# bench_run NAME SCRIPT PORT [VAR=value ...] -> "rps p99ms" (the server gets its own DATA_DIR);
# BENCH_PATH is the path loaded (default the core bench's /api/v2/app/bench/item)
bench_run() {
  local name=$1 script=$2 port=$3; shift 3
  local log dir; log=$(mktemp); dir=$(mktemp -d)
  local pid; pid=$(start_server "$name" "$script" "$port" "$log" "$dir" "$@")
  local url="http://127.0.0.1:$port${BENCH_PATH:-/api/v2/app/bench/item}"
  $PIN_LOAD wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null  # warm-up
  local out; out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$url")
  stop_server "$pid"
  if printf '%s\n' "$out" | grep -q "Non-2xx"; then echo "WARNING: $name answered non-2xx" >&2; fi
  grep -h metered "$log" >&2 || true
  rm -rf "$log" "$dir"
  local rps p99
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
  echo "$rps $p99"
}

# bench_pair SCRIPT_A PORT_A SCRIPT_B PORT_B [VAR=value ...] -> "rpsA rpsB": both servers run at
# once on the server CPU, each loaded by its own wrk for the same DURATION. The CPU is shared
# between the two processes, so whatever slows the machine slows both: B/A is the ratio of their
# CPU cost per request, steady where alternating runs swing by 2x (bench/README.md#pair).
bench_pair() {
  local sa=$1 pa=$2 sb=$3 pb=$4; shift 4
  local la lb da db; la=$(mktemp); lb=$(mktemp); da=$(mktemp -d); db=$(mktemp -d)
  local ida idb
  ida=$(start_server A "$sa" "$pa" "$la" "$da" "$@")
  idb=$(start_server B "$sb" "$pb" "$lb" "$db" "$@") || { kill "$ida"; exit 1; }
  local path=${BENCH_PATH:-/api/v2/app/bench/item} oa ob
  oa=$(mktemp); ob=$(mktemp)
  # Warm-up, then the measure: both loads start together and last as long.
  for d in 2s "$DURATION"; do
    $PIN_LOAD wrk -t1 -c"$CONNS" -d"$d" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$pa$path" >"$oa" &
    local wa=$!
    $PIN_LOAD wrk -t1 -c"$CONNS" -d"$d" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$pb$path" >"$ob"
    wait "$wa"
  done
  stop_server "$ida" "$idb"
  if grep -q "Non-2xx" "$oa" "$ob"; then echo "WARNING: a server answered non-2xx" >&2; fi
  echo "$(awk '/Requests\/sec/ {print $2}' "$oa") $(awk '/Requests\/sec/ {print $2}' "$ob")"
  rm -rf "$la" "$lb" "$da" "$db" "$oa" "$ob"
}

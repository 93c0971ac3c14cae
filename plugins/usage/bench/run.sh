#!/usr/bin/env bash
# Usage metering overhead: the core benchmark's authenticated v2 route with the usage plugin as
# the meter sink (on) against no sink (off), alternating ROUNDS times. Server pinned to core 0,
# wrk to core 1 (when taskset exists). Prints req/s per round and the on/off ratio.
set -eu
cd "$(dirname "$0")/../../.."
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
BUN=node_modules/.bin/bun
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }
PIN_SERVER=""; PIN_LOAD=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; fi

export AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret
export LOG_LEVEL=warn RATE_LIMIT_DEFAULT=100000000/minute
if [ -n "${BENCH_DATABASE_URL:-}" ]; then export DATABASE_URL=$BENCH_DATABASE_URL; fi
TOKEN=$($BUN bench/token.ts)

run() { # metering port -> rps
  local metering=$1 port=$2 log dir; log=$(mktemp); dir=$(mktemp -d)
  METERING=$metering DATA_DIR=$dir PORT=$port $PIN_SERVER $BUN plugins/usage/bench/serve.ts >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do grep -q listening "$log" && break; sleep 0.2; done
  grep -q listening "$log" || { echo "server did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  local url="http://127.0.0.1:$port/api/v2/app/bench/item"
  $PIN_LOAD wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  local out; out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" "$url")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  if printf '%s\n' "$out" | grep -q "Non-2xx"; then echo "WARNING: metering=$metering answered non-2xx" >&2; fi
  grep metered "$log" >&2 || true
  rm -rf "$log" "$dir"
  printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}'
}

off_total=0; on_total=0
for i in $(seq 1 "$ROUNDS"); do
  # Alternate which one runs first, so drift in the machine's load does not favour either.
  if [ $((i % 2)) -eq 1 ]; then off=$(run off 8111); on=$(run on 8112); else on=$(run on 8112); off=$(run off 8111); fi
  printf 'round %d: metering off %8.0f req/s | on %8.0f req/s\n' "$i" "$off" "$on"
  off_total=$(echo "$off_total + $off" | bc -l); on_total=$(echo "$on_total + $on" | bc -l)
done
printf 'mean: off %.0f req/s | on %.0f req/s | on/off %.3f (target >= 0.95)\n' \
  "$(echo "$off_total / $ROUNDS" | bc -l)" "$(echo "$on_total / $ROUNDS" | bc -l)" "$(echo "$on_total / $off_total" | bc -l)"

#!/usr/bin/env bash
# `npm run bench`: raw Bun.serve vs the full OmniStack stack on an authenticated v2 route.
# Server pinned to core 0, wrk to core 1 (when taskset exists); the two servers alternate
# ROUNDS times; prints req/s, p99 and the ratios. Loopback only, bounded in time.
set -eu
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
BUN=node_modules/.bin/bun
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk"; exit 1; }
PIN_SERVER=""; PIN_LOAD=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_SERVER="taskset -c 0"; PIN_LOAD="taskset -c 1"; fi

export AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret
export LOG_LEVEL=warn RATE_LIMIT_DEFAULT=100000000/minute
export DATA_DIR=$(mktemp -d)
# BENCH_DATABASE_URL runs the full stack on a PostgreSQL server instead of embedded PGlite,
# whose in-process WASM heap (about 1 GB) lengthens garbage-collection pauses (bench/README.md).
if [ -n "${BENCH_DATABASE_URL:-}" ]; then export DATABASE_URL=$BENCH_DATABASE_URL; fi
TOKEN=$($BUN bench/token.ts)
trap 'rm -rf "$DATA_DIR"' EXIT

run() { # name script port -> "rps p99ms"
  local name=$1 script=$2 port=$3 log; log=$(mktemp)
  PORT=$port $PIN_SERVER $BUN "$script" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do grep -q listening "$log" && break; sleep 0.2; done
  grep -q listening "$log" || { echo "$name did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  local url="http://127.0.0.1:$port/api/v2/app/bench/item"
  $PIN_LOAD wrk -t1 -c"$CONNS" -d2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null  # warm-up
  local out; out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$url")
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -f "$log"
  local rps p99
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
  if printf '%s\n' "$out" | grep -q "Non-2xx"; then echo "WARNING: $name answered non-2xx" >&2; fi
  echo "$rps $p99"
}

raw_total=0; full_total=0; raw_p99=0; full_p99=0
for i in $(seq 1 "$ROUNDS"); do
  read -r r rp <<<"$(run raw bench/raw-bun.ts 8101)"
  read -r f fp <<<"$(run full bench/full-stack.ts 8102)"
  printf 'round %d: raw %8.0f req/s p99 %6.2f ms | full %8.0f req/s p99 %6.2f ms\n' "$i" "$r" "$rp" "$f" "$fp"
  raw_total=$(echo "$raw_total + $r" | bc -l); full_total=$(echo "$full_total + $f" | bc -l)
  raw_p99=$(echo "$raw_p99 + $rp" | bc -l); full_p99=$(echo "$full_p99 + $fp" | bc -l)
done
ratio=$(echo "$full_total / $raw_total" | bc -l)
p99ratio=$(echo "$full_p99 / $raw_p99" | bc -l)
printf 'mean: raw %.0f req/s p99 %.2f ms | full %.0f req/s p99 %.2f ms\n' \
  "$(echo "$raw_total / $ROUNDS" | bc -l)" "$(echo "$raw_p99 / $ROUNDS" | bc -l)" \
  "$(echo "$full_total / $ROUNDS" | bc -l)" "$(echo "$full_p99 / $ROUNDS" | bc -l)"
printf 'throughput ratio full/raw: %.2f (target >= 0.60) · p99 ratio: %.2f (target < 2.00)\n' "$ratio" "$p99ratio"

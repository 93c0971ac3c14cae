#!/usr/bin/env bash
# Tickets reports benchmark (issue 17): on the 1,000,000 tickets of the tickets benchmark
# (bench/tickets-seed.ts, database omnistack_bench_tickets, left as it is), copied to
# omnistack_bench_reports and given a history (bench/tickets-reports-seed.ts: replies,
# resolutions, closes by 20 agents, assignments), the full stack (bench/tickets-reports-full.ts:
# users, files, tickets) answers, as an agent:
#   GET /api/v2/app/tickets/analytics/summary?days=30
#   GET /api/v2/app/tickets/stats
#   GET /api/v2/app/tickets/metrics/sla
# each BENCH_REPORT_REQUESTS (200) times one after the other (p50, p99, max), then with wrk on
# BENCH_CONNECTIONS (10) connections for BENCH_DURATION (10 s): req/s, p99. Two clocks:
#   dense  the plugin's clock one minute after the newest ticket: every window holds the whole
#          history (1,000,000 tickets in 11.6 days: the worst case of each report);
#   real   the real clock: the rolling windows are empty, the all-time figures still read all.
# Then POST /api/v2/app/tickets/export {} on a fresh server (every ticket, streamed CSV): rows,
# rows/s and the server's peak RSS (VmHWM). Skipped while the route does not exist.
# Targets (issue 17): each report under 200 ms p99; export >= 100,000 rows/s, peak RSS < 150 MB.
# Server on CPU 0, load on CPU 1 (bench/lib.sh). Figures: bench/tickets.md#reports.
set -eu
cd "$(dirname "$0")/.."
unset BENCH_DATABASE_URL
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10}
. bench/lib.sh
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export BENCH_PG_URL=$PG
export BENCH_TICKETS_DB=${BENCH_TICKETS_DB:-omnistack_bench_tickets}
export BENCH_REPORTS_DB=${BENCH_REPORTS_DB:-omnistack_bench_reports}
URL="$PG/$BENCH_REPORTS_DB"
REQUESTS=${BENCH_REPORT_REQUESTS:-200}
export BENCH_TOKEN=$TOKEN
PORT=8131

# The source must be seeded already (bash bench/tickets-run.sh, or bench/tickets-seed.ts): it is
# copied once and never written to here.
SEED_LOG=$(mktemp)
$BUN bench/tickets-reports-seed.ts | tee "$SEED_LOG"
NEWEST=$(sed -n 's/.*newest ticket \(.*\)$/\1/p' "$SEED_LOG"); rm -f "$SEED_LOG"
DENSE=$($BUN -e "console.log(new Date(Date.parse('$NEWEST') + 60000).toISOString())")

# start_server [VAR=value ...]: sets SERVER_PID; the server gets its own DATA_DIR.
start_server() {
  SERVER_LOG=$(mktemp); SERVER_DIR=$(mktemp -d)
  env "$@" DATABASE_URL="$URL" DATA_DIR="$SERVER_DIR" PORT=$PORT $PIN_SERVER $BUN bench/tickets-reports-full.ts >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do grep -q listening "$SERVER_LOG" && break; sleep 0.2; done
  grep -q listening "$SERVER_LOG" || { echo "server did not start:" >&2; cat "$SERVER_LOG" >&2; kill "$SERVER_PID"; exit 1; }
}
stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$SERVER_LOG" "$SERVER_DIR"
}
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.1f", v}'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in dense real; do
  if [ $mode = dense ]; then start_server BENCH_NOW="$DENSE"; echo "== dense (clock $DENSE)"; else start_server; echo "== real clock"; fi
  for path in '/api/v2/app/tickets/analytics/summary?days=30' '/api/v2/app/tickets/stats' '/api/v2/app/tickets/metrics/sla'; do
    url="http://127.0.0.1:$PORT$path"
    read -r p50 p99 max <<<"$($PIN_LOAD $BUN bench/tickets-reports-seq.ts "$url" "$REQUESTS")"
    out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"$DURATION" --timeout 60s --latency -H "Authorization: Bearer $TOKEN" "$url")
    if printf '%s\n' "$out" | grep -q "Non-2xx"; then echo "WARNING: $path answered non-2xx" >&2; fi
    rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
    wp99=$(printf '%s\n' "$out" | awk '$1=="99%" {print $2}' | ms)
    printf '%s\n  sequential x%s: p50 %s ms, p99 %s ms, max %s ms | %s connections: %.1f req/s, p99 %s ms | load %s\n' \
      "$path" "$REQUESTS" "$p50" "$p99" "$max" "$CONNS" "$rps" "$wp99" "$(cut -d' ' -f1 /proc/loadavg)"
  done
  stop_server
done

echo "== export"
start_server
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"ids":["00000000-0000-0000-0000-000000000000"]}' "http://127.0.0.1:$PORT/api/v2/app/tickets/export")
if [ "$code" = 404 ]; then
  echo "POST /api/v2/app/tickets/export: no such route yet, skipped"
else
  before=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
  read -r secs bytes <<<"$(curl -s -o "$SERVER_DIR/export.csv" -w '%{time_total} %{size_download}' -X POST \
    -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{}' "http://127.0.0.1:$PORT/api/v2/app/tickets/export")"
  rows=$(($(wc -l <"$SERVER_DIR/export.csv") - 1))
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
  printf 'export: %s rows, %s bytes in %.1f s = %.0f rows/s; server RSS before %d MB, peak %d MB | load %s\n' \
    "$rows" "$bytes" "$secs" "$(echo "$rows / $secs" | bc -l)" $((before / 1024)) $((peak / 1024)) "$(cut -d' ' -f1 /proc/loadavg)"
fi
stop_server

#!/usr/bin/env bash
# Tickets export benchmark (issue 17; figures in bench/tickets.md#export): POST
# /api/v2/app/tickets/export {} (every ticket, streamed CSV) on the full stack
# (bench/tickets-full.ts: users, files, tickets) over the 1,000,000 tickets of the tickets
# benchmark. The source database (omnistack_bench_tickets, bench/tickets-seed.ts) is never
# written to: the server runs on a copy (`create database ... template`), dropped at the end
# unless BENCH_KEEP=1. BENCH_EXPORT_RUNS (3) exports, each on a fresh server, with curl to
# /dev/null: rows, bytes, seconds, rows/s, the server's RSS before and its peak (VmHWM), and the
# 1-minute load average. Server on CPU 0, curl on CPU 1 (bench/lib.sh).
# Targets (issue 17): >= 100,000 rows/s, peak RSS < 150 MB.
set -eu
cd "$(dirname "$0")/.."
unset BENCH_DATABASE_URL
. bench/lib.sh
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
SOURCE=${BENCH_TICKETS_DB:-omnistack_bench_tickets}
COPY=${BENCH_EXPORT_DB:-omnistack_bench_export}
RUNS=${BENCH_EXPORT_RUNS:-3}
PORT=8133
URL="$PG/$COPY"

# admin SQL: one statement on the maintenance database.
admin() { BENCH_SQL="$1" $BUN -e "
  import postgres from 'postgres'
  const sql = postgres('$PG/postgres', { max: 1, onnotice: () => {} })
  await sql.unsafe(process.env.BENCH_SQL); await sql.end()"; }
if [ "${BENCH_KEEP:-0}" != 1 ]; then trap 'admin "drop database if exists \"$COPY\" with (force)"' EXIT; fi
$BUN -e "
  import postgres from 'postgres'
  const sql = postgres('$PG/postgres', { max: 1, onnotice: () => {} })
  const [have] = await sql\`select 1 from pg_database where datname = \${'$COPY'}\`
  if (!have) await sql.unsafe('create database \"$COPY\" template \"$SOURCE\" strategy file_copy')
  await sql.end()"
ROWS=$($BUN -e "
  import postgres from 'postgres'
  const sql = postgres('$URL', { max: 1 })
  const [r] = await sql\`select count(*)::int as n from tickets where deleted_at is null\`
  console.log(r.n); await sql.end()")
echo "source $SOURCE, copy $COPY: $ROWS tickets; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for i in $(seq 1 "$RUNS"); do
  log=$(mktemp); dir=$(mktemp -d)
  env DATABASE_URL="$URL" DATA_DIR="$dir" PORT=$PORT $PIN_SERVER $BUN bench/tickets-full.ts >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q listening "$log" && break; sleep 0.2; done
  grep -q listening "$log" || { echo "server did not start:" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  read -r code secs bytes <<<"$($PIN_LOAD curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}' \
    -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{}' \
    "http://127.0.0.1:$PORT/api/v2/app/tickets/export")"
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$log" "$dir"
  [ "$code" = 200 ] || { echo "export answered $code" >&2; exit 1; }
  printf 'run %s: %s rows, %s bytes in %.2f s = %.0f rows/s; server RSS before %d MB, peak %d MB | load %s\n' \
    "$i" "$ROWS" "$bytes" "$secs" "$(echo "$ROWS / $secs" | bc -l)" $((before / 1024)) $((peak / 1024)) \
    "$(cut -d' ' -f1 /proc/loadavg)"
done

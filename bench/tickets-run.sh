#!/usr/bin/env bash
# Tickets list benchmark (issue 16): 1,000,000 tickets with a comment each on a real PostgreSQL
# (bench/tickets-seed.ts), then three lists as an agent, full stack vs raw Bun.serve + postgres.js
# running the same queries (bench/tickets-raw.ts), 10 concurrent connections:
#   GET /api/v2/app/tickets?status=open&sort=-created_at&limit=50
#   GET /api/v2/app/tickets?status=open&sort=-created_at&limit=50&q=kw42
#   GET /api/v2/app/tickets?assignee_id=me&limit=50
# Uses its own database on BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432), kept between
# runs (seeding takes minutes) unless BENCH_DROP=1. Targets: full >= 0.8x raw, p99 < 50 ms.
set -eu
cd "$(dirname "$0")/.."
unset BENCH_DATABASE_URL
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10}
. bench/lib.sh
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export BENCH_PG_URL=$PG
DB=${BENCH_TICKETS_DB:-omnistack_bench_tickets}
URL="$PG/$DB"

$BUN bench/db-admin.ts create "$DB" 2>/dev/null || true
if [ "${BENCH_DROP:-0}" = 1 ]; then trap '$BUN bench/db-admin.ts drop "$DB" || true' EXIT; fi
DATABASE_URL=$URL $BUN bench/tickets-seed.ts

for path in '/api/v2/app/tickets?status=open&sort=-created_at&limit=50' \
            '/api/v2/app/tickets?status=open&sort=-created_at&limit=50&q=kw42' \
            '/api/v2/app/tickets?assignee_id=me&limit=50'; do
  raw_total=0; full_total=0; raw_p99=0; full_p99=0
  for i in $(seq 1 "$ROUNDS"); do
    read -r r rp <<<"$(BENCH_PATH=$path bench_run raw bench/tickets-raw.ts 8121 DATABASE_URL="$URL")"
    read -r f fp <<<"$(BENCH_PATH=$path bench_run full bench/tickets-full.ts 8122 DATABASE_URL="$URL")"
    raw_total=$(echo "$raw_total + $r" | bc -l); full_total=$(echo "$full_total + $f" | bc -l)
    raw_p99=$(echo "$raw_p99 + $rp" | bc -l); full_p99=$(echo "$full_p99 + $fp" | bc -l)
  done
  printf '%s\n  raw %6.0f req/s p99 %6.2f ms | full %6.0f req/s p99 %6.2f ms | ratio %.2f\n' "$path" \
    "$(echo "$raw_total / $ROUNDS" | bc -l)" "$(echo "$raw_p99 / $ROUNDS" | bc -l)" \
    "$(echo "$full_total / $ROUNDS" | bc -l)" "$(echo "$full_p99 / $ROUNDS" | bc -l)" \
    "$(echo "$full_total / $raw_total" | bc -l)"
done

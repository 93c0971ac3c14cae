#!/usr/bin/env bash
# `npm run bench:db`: GET /api/v2/app/projects?limit=20 (authenticated, v2) with 10,000 projects of
# the caller on a real PostgreSQL, full stack vs raw Bun.serve + postgres.js running the same two
# queries, and (same round) raw with the old window-count query as the reference. Creates its own database on BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432)
# and drops it on exit. Server on CPU 0, wrk on CPU 1 (bench/lib.sh); PostgreSQL is not pinned.
set -eu
cd "$(dirname "$0")/.."
unset BENCH_DATABASE_URL
. bench/lib.sh
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export BENCH_PG_URL=$PG
DB=omnistack_bench_db_$$
export BENCH_PATH='/api/v2/app/projects?limit=20'
URL="$PG/$DB"

$BUN bench/db-admin.ts create "$DB"
trap '$BUN bench/db-admin.ts drop "$DB" || true' EXIT
DATABASE_URL=$URL $BUN bench/db-seed.ts

raw_total=0; full_total=0; raw_p99=0; full_p99=0; win_total=0; win_p99=0
for i in $(seq 1 "$ROUNDS"); do
  read -r r rp <<<"$(bench_run raw bench/db-raw.ts 8111 DATABASE_URL="$URL")"
  read -r f fp <<<"$(bench_run full bench/db-full.ts 8112 DATABASE_URL="$URL")"
  # The old window-count query, raw, in the same round: the reference of the ">= 3x" target.
  read -r w wp <<<"$(bench_run window bench/db-raw.ts 8113 DATABASE_URL="$URL" RAW_QUERY=window)"
  printf 'round %d: raw %7.0f req/s p99 %7.2f ms | full %7.0f req/s p99 %7.2f ms | window count (raw) %6.0f req/s p99 %7.2f ms\n' "$i" "$r" "$rp" "$f" "$fp" "$w" "$wp"
  raw_total=$(echo "$raw_total + $r" | bc -l); full_total=$(echo "$full_total + $f" | bc -l); win_total=$(echo "$win_total + $w" | bc -l)
  raw_p99=$(echo "$raw_p99 + $rp" | bc -l); full_p99=$(echo "$full_p99 + $fp" | bc -l); win_p99=$(echo "$win_p99 + $wp" | bc -l)
done
full_mean=$(echo "$full_total / $ROUNDS" | bc -l)
printf 'mean: raw %.0f req/s p99 %.2f ms | full %.0f req/s p99 %.2f ms\n' \
  "$(echo "$raw_total / $ROUNDS" | bc -l)" "$(echo "$raw_p99 / $ROUNDS" | bc -l)" \
  "$full_mean" "$(echo "$full_p99 / $ROUNDS" | bc -l)"
printf 'window count (raw): %.0f req/s p99 %.2f ms\n' "$(echo "$win_total / $ROUNDS" | bc -l)" "$(echo "$win_p99 / $ROUNDS" | bc -l)"
printf 'throughput ratio full/raw: %.2f (target >= 0.90) · full vs 410 req/s: %.1fx, vs the window count of this run: %.1fx (target >= 3) · full p99 %.1f ms (target < 100)\n' \
  "$(echo "$full_total / $raw_total" | bc -l)" "$(echo "$full_mean / 410" | bc -l)" "$(echo "$full_total / $win_total" | bc -l)" "$(echo "$full_p99 / $ROUNDS" | bc -l)"

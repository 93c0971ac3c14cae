#!/usr/bin/env bash
# `npm run bench`: raw Bun.serve vs the full OmniStack stack on an authenticated v2 route.
# Server pinned to core 0, wrk to core 1 (when taskset exists); the two servers alternate
# ROUNDS times; prints req/s, p99 and the ratios. Loopback only, bounded in time.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

raw_total=0; full_total=0; raw_p99=0; full_p99=0
for i in $(seq 1 "$ROUNDS"); do
  read -r r rp <<<"$(bench_run raw bench/raw-bun.ts 8101)"
  read -r f fp <<<"$(bench_run full bench/full-stack.ts 8102)"
  printf 'round %d: raw %8.0f req/s p99 %6.2f ms | full %8.0f req/s p99 %6.2f ms\n' "$i" "$r" "$rp" "$f" "$fp"
  raw_total=$(echo "$raw_total + $r" | bc -l); full_total=$(echo "$full_total + $f" | bc -l)
  raw_p99=$(echo "$raw_p99 + $rp" | bc -l); full_p99=$(echo "$full_p99 + $fp" | bc -l)
done
ratio=$(echo "$full_total / $raw_total" | bc -l)
p99ratio=$(echo "$full_p99 / $raw_p99" | bc -l)
printf 'mean: raw %.0f req/s p99 %.2f ms | full %.0f req/s p99 %.2f ms\n' \
  "$(echo "$raw_total / $ROUNDS" | bc -l)" "$(echo "$raw_p99 / $ROUNDS" | bc -l)" \
  "$(echo "$full_total / $ROUNDS" | bc -l)" "$(echo "$full_p99 / $ROUNDS" | bc -l)"
printf 'throughput ratio full/raw: %.2f (target >= 0.62) · p99 ratio: %.2f (target < 2.00)\n' "$ratio" "$p99ratio"

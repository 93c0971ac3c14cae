#!/usr/bin/env bash
# Usage metering overhead: the core benchmark's authenticated v2 route with the usage plugin as
# the meter sink (on) against no sink (off), alternating ROUNDS times. Server pinned to core 0,
# wrk to core 1 (when taskset exists). Prints req/s per round and the on/off ratio.
set -eu
cd "$(dirname "$0")/../../.."
. bench/lib.sh

off_total=0; on_total=0
for i in $(seq 1 "$ROUNDS"); do
  # Alternate which one runs first, so drift in the machine's load does not favour either.
  if [ $((i % 2)) -eq 1 ]; then
    read -r off _ <<<"$(bench_run off plugins/usage/bench/serve.ts 8111 METERING=off)"
    read -r on _ <<<"$(bench_run on plugins/usage/bench/serve.ts 8112 METERING=on)"
  else
    read -r on _ <<<"$(bench_run on plugins/usage/bench/serve.ts 8112 METERING=on)"
    read -r off _ <<<"$(bench_run off plugins/usage/bench/serve.ts 8111 METERING=off)"
  fi
  printf 'round %d: metering off %8.0f req/s | on %8.0f req/s\n' "$i" "$off" "$on"
  off_total=$(echo "$off_total + $off" | bc -l); on_total=$(echo "$on_total + $on" | bc -l)
done
printf 'mean: off %.0f req/s | on %.0f req/s | on/off %.3f (target >= 0.95)\n' \
  "$(echo "$off_total / $ROUNDS" | bc -l)" "$(echo "$on_total / $ROUNDS" | bc -l)" "$(echo "$on_total / $off_total" | bc -l)"

#!/usr/bin/env bash
# `npm run bench:pair [A.ts B.ts]`: the throughput ratio B/A with both servers serving at once on
# CPU 0 (wrk on CPU 1), ROUNDS rounds. Default A = raw Bun.serve, B = the full stack (the pair of
# `npm run bench`). Two trees' full stacks give an A/B of a change:
#   git worktree add /tmp/base HEAD && ln -s "$PWD/node_modules" /tmp/base/node_modules
#   npm run bench:pair -- /tmp/base/bench/full-stack.ts bench/full-stack.ts
# No p99 here: the two servers take turns on the CPU, which sets the tail (bench/README.md#pair).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
A=${1:-bench/raw-bun.ts}; B=${2:-bench/full-stack.ts}
a_total=0; b_total=0
for i in $(seq 1 "$ROUNDS"); do
  read -r a b <<<"$(bench_pair "$A" 8121 "$B" 8122)"
  printf 'round %d: A %8.0f req/s | B %8.0f req/s | B/A %.3f\n' "$i" "$a" "$b" "$(echo "$b / $a" | bc -l)"
  a_total=$(echo "$a_total + $a" | bc -l); b_total=$(echo "$b_total + $b" | bc -l)
done
printf 'A = %s, B = %s\nthroughput ratio B/A over %d rounds: %.3f\n' "$A" "$B" "$ROUNDS" "$(echo "$b_total / $a_total" | bc -l)"

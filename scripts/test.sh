#!/usr/bin/env bash
# The test suite (`npm test`): every *.test.ts under core/, plugins/ and starters/, on the
# embedded defaults unless TEST_DATABASE_URL / TEST_REDIS_URL point at real servers.
# Each file runs in its own bun process so one file's globals or leaked handles cannot
# affect another; the summary line is ours (docs/performance-notes.md#install-tests-and-ci: bun prints its own on stderr).
set -u
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
TIMEOUT=${TEST_TIMEOUT_MS:-60000}
mapfile -t files < <(find core plugins starters -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
passed=0; failed=0; broken=()
# A file that fails is run once more in a fresh process. A pass on that second run still
# counts as passed but is reported as FLAKY (and listed at the end): on a loaded 2-core CI
# machine a test that waits on real servers can miss a deadline without anything being wrong,
# and one such miss must not hide a whole submission. A deterministic failure fails twice.
# A flaky test is a bug to fix (docs/testing.md#flaky-tests), not a state to keep.
flaky=()
for f in "${files[@]}"; do
  out=$("$BUN" test "$f" --timeout "$TIMEOUT" 2>&1); rc=$?
  if [ "$rc" -ne 0 ] && [ "${TEST_NO_RETRY:-0}" != 1 ]; then
    first=$out
    out=$("$BUN" test "$f" --timeout "$TIMEOUT" 2>&1); rc=$?
    if [ "$rc" -eq 0 ]; then
      flaky+=("$f"); printf '%s\n' "$first" | grep -E '^\(fail\)|^error:' | head -20
      echo "FLAKY: $f failed, then passed when run again"
    fi
  fi
  p=$(printf '%s\n' "$out" | grep -Eo '^ *[0-9]+ pass' | grep -Eo '[0-9]+' | tail -1)
  n=$(printf '%s\n' "$out" | grep -Eo '^ *[0-9]+ fail' | grep -Eo '[0-9]+' | tail -1)
  p=${p:-0}; n=${n:-0}
  # A file that exits non-zero without a failing test (import error, crash) counts as one failure.
  if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then n=1; fi
  passed=$((passed + p)); failed=$((failed + n))
  if [ "$rc" -ne 0 ]; then
    broken+=("$f"); printf '%s\n' "$out" | tail -60; echo "FAILED: $f"
  else
    echo "ok   $f ($p tests)"
  fi
done
if [ "${#flaky[@]}" -gt 0 ]; then echo "flaky (failed once, passed when run again): ${flaky[*]}"; fi
echo "${passed} passed, ${failed} failed"
[ "${#broken[@]}" -eq 0 ]

#!/usr/bin/env bash
# The cost of the report rollups on writes (migration 0006_report_rollups.sql): pgbench inserts
# tickets as a create does (an SLA with both due times, in the current hour, so every insert
# meets the rollup rows that concurrent inserts meet), one statement per transaction, on
# BENCH_REPORTS_DB (default omnistack_bench_reports, migrated: run bench/tickets-reports-run.sh
# first), with the rollup triggers disabled and then enabled:
#   1 client  x BENCH_WRITES (2000) inserts: latency average
#   10 clients for BENCH_DURATION (10 s): inserts/s, latency average
# The same for an update that closes a ticket (the other write a report follows). Rows it adds
# are deleted with the triggers in the state they were written in, so the rollups stay exact.
set -eu
cd "$(dirname "$0")/.."
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
URL="$PG/${BENCH_REPORTS_DB:-omnistack_bench_reports}"
WRITES=${BENCH_WRITES:-2000}
DURATION=${BENCH_DURATION:-10s}
DURATION=${DURATION%s}
PIN=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN="taskset -c 1"; fi
TRIGGERS="tickets_report_insert tickets_report_update tickets_report_delete"
SCRIPT=$(mktemp --suffix=.sql)
CLOSE=$(mktemp --suffix=.sql)
trap 'rm -f "$SCRIPT" "$CLOSE"' EXIT
cat >"$SCRIPT" <<'SQL'
insert into tickets (title, description, requester_id, sla_policy, first_response_due_at, resolution_due_at)
values ('bench-write', 'Bench write', 'bench-user', 'normal', now() + interval '8 hours', now() + interval '48 hours');
SQL
# A random open ticket of the history closed (reopened after the run).
cat >"$CLOSE" <<'SQL'
\set n random(1, 1000000)
update tickets set status = 'closed', closed_at = now(), closed_by = 'agent-1', resolved_at = coalesce(resolved_at, now())
  where number = :n and status = 'open';
SQL

triggers() {
  for t in $TRIGGERS; do psql -q "$URL" -c "alter table tickets $1 trigger $t"; done
}
run() {
  local label=$1 file=$2
  local one ten
  one=$($PIN pgbench -n -f "$file" -c 1 -t "$WRITES" "$URL" 2>/dev/null | awk '/latency average/ {print $4}')
  ten=$($PIN pgbench -n -f "$file" -c 10 -j 2 -T "$DURATION" "$URL" 2>/dev/null |
    awk '/latency average/ {l=$4} /^tps/ {t=$3} END {printf "%.0f/s, latency average %s ms", t, l}')
  printf '%-24s 1 client: %s ms | 10 clients: %s | load %s\n' "$label" "$one" "$ten" "$(cut -d' ' -f1 /proc/loadavg)"
}

psql -q "$URL" -c "select 1 from ticket_report_totals limit 1" >/dev/null || {
  echo "$URL has no rollups: run bench/tickets-reports-run.sh first" >&2
  exit 1
}
for mode in disable enable; do
  triggers "$mode"
  run "insert, triggers ${mode}d" "$SCRIPT"
  psql -q "$URL" -c "delete from tickets where title = 'bench-write'"
  run "close, triggers ${mode}d" "$CLOSE"
  # Reopen what the run closed, in the same trigger state: the history's open tickets have no
  # resolution, and its closes are in 2024.
  psql -q "$URL" -c "update tickets set status = 'open', closed_at = null, closed_by = null, resolved_at = null
    where closed_by = 'agent-1' and closed_at > now() - interval '1 hour'"
done
triggers enable
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"

/**
 * Prepares the reports benchmark (bench/tickets-reports-run.sh): BENCH_REPORTS_DB on BENCH_PG_URL,
 * a copy (made here when missing, `create database ... template`) of the tickets benchmark's
 * database BENCH_TICKETS_DB (bench/tickets-seed.ts: 1,000,000 tickets one second apart from
 * 2024-01-01, no replies, no resolutions), which stays as it is. Migrates the copy (the reports' indexes of
 * plugins/tickets/migrations/0003_reports.sql are built here, once), then gives the tickets the
 * history a report reads, reproducibly from the ticket number i:
 *
 * - every ticket but one open ticket in two is answered, after (7 i mod 720) minutes (a third
 *   past the 8-hour first-response target);
 * - `resolved` tickets are resolved after (13 i mod 4320) minutes (a third past the 48-hour
 *   target); every other one of them is closed then by one of 20 agents `agent-<i mod 20>`;
 * - every assigned ticket (i mod 100 = 0) has an `assigned` activity row 10 minutes in.
 *
 * The report rollups (migration 0006_report_rollups.sql) follow these updates through their
 * triggers, as they follow any write: the history is built by the same path production writes
 * take. On a copy made before migration 0006, the migration's backfill computes them instead.
 *
 * Then vacuum analyze, so the reports' index-only scans read no heap page. Skipped when done.
 */
import postgres from 'postgres'
import { createApp } from '../core/index.ts'
import files from '../plugins/files/index.ts'
import tickets from '../plugins/tickets/index.ts'
import users from '../plugins/users/index.ts'

/** The rollup tables of migration 0006 (many of their rows were updated in place by the history). */
const ROLLUPS = [
  'ticket_report_created',
  'ticket_report_totals',
  'ticket_report_breach',
  'ticket_report_decided',
  'ticket_report_closes',
  'ticket_report_closer_totals',
  'ticket_report_closed_created',
]
const pg = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432'
const source = process.env.BENCH_TICKETS_DB ?? 'omnistack_bench_tickets'
const target = process.env.BENCH_REPORTS_DB ?? 'omnistack_bench_reports'
for (const name of [source, target]) if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`)
const admin = postgres(`${pg}/postgres`, { max: 1, onnotice: () => {} })
const [exists] = await admin`select 1 from pg_database where datname = ${target}`
if (!exists) {
  const src = postgres(`${pg}/${source}`, { max: 1, onnotice: () => {} })
  const seeded = await src`select count(*)::int as n from tickets`.then(
    (r) => r[0]?.n as number,
    () => 0,
  )
  await src.end()
  if (!seeded) throw new Error(`${source} holds no tickets: seed it first (bash bench/tickets-run.sh)`)
  // Needs no session on the source: not while bench/tickets-run.sh runs.
  await admin.unsafe(`create database "${target}" template "${source}" strategy file_copy`)
  console.log(`copied ${source} to ${target}`)
}
await admin.end()
process.env.DATABASE_URL = `${pg}/${target}`

const app = await createApp({ plugins: [users, files, tickets] })
const sql = app.db.sql
const started = Date.now()
const [{ done }] = (await sql`select count(*)::int as done from tickets where closed_at is not null`) as unknown as [
  { done: number },
]
if (done > 0) {
  console.log(`reports history already there (${done} closed tickets)`)
} else {
  await sql`insert into users (id, email, full_name, role)
    select 'agent-' || i, 'agent' || i || '@example.com', 'Agent ' || i, 'agent' from generate_series(0, 19) i
    on conflict (id) do nothing`
  const chunk = 100_000
  const [{ n }] = (await sql`select coalesce(max(number), 0)::int as n from tickets`) as unknown as [{ n: number }]
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1)
    await sql`update tickets set
        first_response_at = case when status <> 'open' or (number / 4) % 2 = 0
          then created_at + ((number * 7) % 720) * interval '1 minute' end,
        resolved_at = case when status = 'resolved' then created_at + ((number * 13) % 4320) * interval '1 minute' end,
        closed_at = case when status = 'resolved' and (number / 4) % 2 = 0
          then created_at + ((number * 13) % 4320) * interval '1 minute' end,
        closed_by = case when status = 'resolved' and (number / 4) % 2 = 0 then 'agent-' || (number % 20) end,
        status = case when status = 'resolved' and (number / 4) % 2 = 0 then 'closed' else status end
      where number between ${from} and ${to}`
    console.log(`history ${to} / ${n} (${Math.round((Date.now() - started) / 1000)} s)`)
  }
  await sql`insert into ticket_activity (ticket_id, actor_id, action, changes, created_at)
    select id, 'bench-user', 'assigned', jsonb_build_object('assignee_id', jsonb_build_object('from', null, 'to', assignee_id)),
      created_at + interval '10 minutes'
    from tickets where assignee_id is not null`
  // The update left a dead entry per ticket in every index: rebuild the reports' own
  // (migrations 0003 and 0006).
  for (const index of [
    'tickets_report_created_idx',
    'tickets_report_closed_idx',
    'tickets_unanswered_idx',
    'tickets_report_breach_idx',
    'tickets_report_decided_idx',
    'tickets_report_created_closed_idx',
  ])
    await sql.unsafe(`reindex index ${index}`)
}
for (const table of ['tickets', 'ticket_activity', ...ROLLUPS]) await sql.unsafe(`vacuum analyze ${table}`)
const [{ last }] = (await sql`select max(created_at) as last from tickets`) as unknown as [{ last: Date }]
console.log(`ready in ${Math.round((Date.now() - started) / 1000)} s; newest ticket ${last.toISOString()}`)
await app.stop()
process.exit(0)

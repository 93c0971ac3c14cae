/**
 * Seeds the tickets benchmark (bench/tickets-run.sh): migrates DATABASE_URL through createApp
 * (users, files, tickets), then inserts BENCH_TICKETS (1,000,000) tickets with one public comment
 * each, reproducibly (no randomness: everything derives from the row number), and analyzes.
 *
 * - bench-user is an agent; every 100th ticket is assigned to it (10,000 tickets).
 * - status cycles open, pending, in_progress, resolved (25 % open); priority cycles the four.
 * - requesters: 10,000 users `req-<n>`; tickets one second apart, newest last.
 * - search: each description holds the word `kw<i mod 997>` and each comment `cw<i mod 1009>`,
 *   so `q=kw42` matches about 1,003 tickets and `q=cw42` about 991 (through a comment).
 */
import { createApp } from '../core/index.ts'
import files from '../plugins/files/index.ts'
import tickets from '../plugins/tickets/index.ts'
import users from '../plugins/users/index.ts'

const n = Number(process.env.BENCH_TICKETS ?? 1_000_000)
const chunk = 50_000
const app = await createApp({ plugins: [users, files, tickets] })
const sql = app.db.sql
const started = Date.now()
await sql`insert into users (id, email, full_name, role) values ('bench-user', 'bench@example.com', 'Bench', 'agent')
  on conflict (id) do update set role = 'agent'`
await sql`insert into users (id, email, full_name)
  select 'req-' || i, 'req' || i || '@example.com', 'Requester ' || i from generate_series(1, 10000) i
  on conflict (id) do nothing`
const [{ have }] =
  (await sql`select count(*)::int as have from tickets where resolution_breach_notified_at is not null`) as unknown as [
    { have: number },
  ]
if (have >= n) {
  console.log(`already seeded: ${have} tickets`)
} else {
  await sql`truncate tickets, ticket_comments, ticket_activity cascade`
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1)
    await sql.begin(async (tx) => {
      await tx`insert into tickets (number, title, description, status, priority, requester_id, assignee_id, source,
          sla_policy, first_response_due_at, resolution_due_at, first_response_breach_notified_at, resolution_breach_notified_at,
          search_public, created_at, updated_at)
        select i, 'Ticket ' || i || ' printer vpn laptop',
               'Something is broken on device ' || (i % 5000) || ' kw' || (i % 997) || ' please help',
               (array['open','pending','in_progress','resolved'])[1 + i % 4],
               (array['low','normal','high','urgent'])[1 + (i / 7) % 4],
               'req-' || (1 + i % 10000),
               case when i % 100 = 0 then 'bench-user' end,
               'web', 'normal',
               timestamptz '2024-01-01' + i * interval '1 second' + interval '8 hours',
               timestamptz '2024-01-01' + i * interval '1 second' + interval '48 hours',
               -- Old breaches were announced long ago: the SLA job has nothing to catch up on.
               timestamptz '2024-01-01' + i * interval '1 second' + interval '8 hours',
               timestamptz '2024-01-01' + i * interval '1 second' + interval '48 hours',
               setweight(to_tsvector('english', 'Ticket ' || i || ' printer vpn laptop'), 'A')
                 || setweight(to_tsvector('english', 'Something is broken on device ' || (i % 5000) || ' kw' || (i % 997) || ' please help'), 'B')
                 || to_tsvector('english', 'Have you tried restarting it cw' || (i % 1009)),
               timestamptz '2024-01-01' + i * interval '1 second',
               timestamptz '2024-01-01' + i * interval '1 second'
        from generate_series(${from}::int, ${to}::int) i`
      await tx`insert into ticket_comments (ticket_id, author_id, body_md, is_internal, created_at)
        select id, 'bench-user', 'Have you tried restarting it cw' || (number % 1009), false, created_at + interval '5 minutes'
        from tickets where number between ${from} and ${to}`
    })
    console.log(`seeded ${to} / ${n} (${Math.round((Date.now() - started) / 1000)} s)`)
  }
  await sql`select setval('tickets_number_seq', ${n})`
}
await sql.unsafe('vacuum analyze tickets')
await sql.unsafe('vacuum analyze ticket_comments')
console.log(`seeded in ${Math.round((Date.now() - started) / 1000)} s`)
await app.stop()
process.exit(0)

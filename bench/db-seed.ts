/**
 * Seeds the database benchmark (bench/db-run.sh): migrates DATABASE_URL through createApp (core and
 * projects migrations), then gives the bench user BENCH_PROJECTS (10,000) projects, one a second
 * apart, and analyzes the table so the planner and the visibility map are as in production.
 */
import { createApp } from '../core/index.ts'
import projects from '../plugins/projects/index.ts'

const n = Number(process.env.BENCH_PROJECTS ?? 10_000)
const app = await createApp({ plugins: [projects] })
const sql = app.db.sql
await sql`insert into users (id, email, full_name) values ('bench-user', 'bench@example.com', 'Bench') on conflict (id) do nothing`
await sql`delete from projects where owner_id = 'bench-user'`
await sql`insert into projects (owner_id, name, description, created_at, updated_at)
  select 'bench-user', 'Project ' || i, 'Benchmark project number ' || i,
         now() - (${n} - i) * interval '1 second', now() - (${n} - i) * interval '1 second'
  from generate_series(1, ${n}) i`
await sql.unsafe('vacuum analyze projects')
const [{ c }] =
  (await sql`select count(*)::int as c from projects where owner_id = 'bench-user' and deleted_at is null`) as unknown as [
    { c: number },
  ]
console.log(`seeded ${c} projects`)
await app.stop()
process.exit(0)

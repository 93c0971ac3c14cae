/** `bun bench/db-admin.ts create|drop NAME`: the database benchmark's own database on BENCH_PG_URL. */
import postgres from 'postgres'

const [action, name] = process.argv.slice(2)
if (!name || !/^[a-z0-9_]+$/.test(name) || (action !== 'create' && action !== 'drop')) {
  console.error('usage: bun bench/db-admin.ts create|drop <name>')
  process.exit(2)
}
const admin = postgres(`${process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432'}/postgres`, {
  max: 1,
  onnotice: () => {},
})
if (action === 'create') await admin.unsafe(`create database "${name}"`)
else await admin.unsafe(`drop database if exists "${name}" with (force)`)
await admin.end()

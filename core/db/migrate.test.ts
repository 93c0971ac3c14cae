/** migrate(): ordering, the ledger, checksums, failures and concurrent runs (embedded or TEST_DATABASE_URL). */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { openDatabase, type Database } from './client.ts'
import { listMigrationFiles, migrate, type MigrationSource } from './migrate.ts'

const root = await mkdtemp(join(tmpdir(), 'omnistack-migrate-test-'))
afterAll(() => rm(root, { recursive: true, force: true }))

let n = 0
/** A fresh folder per source: `{ '0001_a.sql': 'create table ...' }`. */
async function source(namespace: string, files: Record<string, string>): Promise<MigrationSource> {
  const dir = join(root, `${namespace}-${++n}`)
  await mkdir(dir)
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  return { namespace, dir }
}

const regclass = async (db: Database, name: string) =>
  (await db.sql<{ r: string | null }[]>`select to_regclass(${name})::text as r`)[0]!.r

let db: TestDatabase
beforeEach(async () => {
  db = await createTestDatabase({ migrations: [] })
})
afterEach(() => db.close())

describe('migrate', () => {
  it('applies sources in order, then file names, and records each once', async () => {
    const a = await source('alpha', {
      '0002_second.sql': 'insert into alpha_log (step) values (2);',
      '0001_first.sql': 'create table alpha_log (step int not null);\ninsert into alpha_log (step) values (1);',
    })
    const b = await source('beta', {
      '0001_uses_alpha.sql': 'insert into alpha_log (step) values (3);',
      'README.md': 'ignored',
    })
    const first = await migrate(db.sql, [a, b])
    expect(first.applied).toEqual(['alpha/0001_first.sql', 'alpha/0002_second.sql', 'beta/0001_uses_alpha.sql'])
    expect((await db.sql`select step from alpha_log order by step`).map((r) => r.step)).toEqual([1, 2, 3])
    const ledger = await db.sql<
      { id: string; checksum: string; applied_at: Date }[]
    >`select * from omnistack_migrations order by id`
    expect(ledger.map((r) => r.id)).toEqual(first.applied)
    expect(ledger[0]!.checksum).toMatch(/^[0-9a-f]{64}$/)
    expect(ledger[0]!.applied_at).toBeInstanceOf(Date)

    expect((await migrate(db.sql, [a, b])).applied).toEqual([])
    expect((await db.sql`select count(*)::int as c from alpha_log`)[0]!.c).toBe(3)
  })

  it('applies only the files added since the last run', async () => {
    const a = await source('gamma', { '0001_one.sql': 'create table gamma_one (id int);' })
    await migrate(db.sql, [a])
    await writeFile(join(a.dir as string, '0002_two.sql'), 'create table gamma_two (id int);')
    expect((await migrate(db.sql, [a])).applied).toEqual(['gamma/0002_two.sql'])
  })

  it('refuses to run when an applied file has changed, naming it', async () => {
    const a = await source('delta', { '0001_one.sql': 'create table delta_one (id int);', '0002_two.sql': 'select 1;' })
    await migrate(db.sql, [a])
    await writeFile(join(a.dir as string, '0001_one.sql'), 'create table delta_one (id bigint);')
    await writeFile(join(a.dir as string, '0003_three.sql'), 'create table delta_three (id int);')
    await expect(migrate(db.sql, [a])).rejects.toThrow(/delta\/0001_one\.sql was changed after it was applied/)
    // Nothing after the check ran either.
    expect(await regclass(db, 'delta_three')).toBeNull()
  })

  it('keeps a Windows checkout (CRLF) on the same checksum', async () => {
    const lf = await source('eps', { '0001_x.sql': 'select 1;\nselect 2;\n' })
    const crlf = await source('eps', { '0001_x.sql': 'select 1;\r\nselect 2;\r\n' })
    const [x] = await listMigrationFiles([lf])
    const [y] = await listMigrationFiles([crlf])
    expect(x!.checksum).toBe(y!.checksum)
  })

  it('fails on broken SQL naming the file, the line and the database message, applying nothing of it', async () => {
    const a = await source('zeta', {
      '0001_ok.sql': 'create table zeta_ok (id int);',
      '0002_broken.sql':
        'create table zeta_half (id int);\ninsert into zeta_ok values (1);\ncreate tabel oops (id int);\n',
      '0003_after.sql': 'create table zeta_after (id int);',
    })
    const err = await migrate(db.sql, [a]).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(/^Migration zeta\/0002_broken\.sql failed at line 3: syntax error at or near "tabel"/)
    expect(await regclass(db, 'zeta_ok')).toBe('zeta_ok')
    expect(await regclass(db, 'zeta_half')).toBeNull()
    expect(await regclass(db, 'zeta_after')).toBeNull()
    expect((await db.sql`select count(*)::int as c from zeta_ok`)[0]!.c).toBe(0)
    expect((await db.sql`select id from omnistack_migrations`).map((r) => r.id)).toEqual(['zeta/0001_ok.sql'])

    // Fixed, the run continues where it stopped.
    await writeFile(join(a.dir as string, '0002_broken.sql'), 'create table zeta_half (id int);')
    expect((await migrate(db.sql, [a])).applied).toEqual(['zeta/0002_broken.sql', 'zeta/0003_after.sql'])
  })

  it('rejects misnamed files, missing folders and a namespace given twice', async () => {
    await expect(migrate(db.sql, [await source('eta', { '1_bad.sql': 'select 1;' })])).rejects.toThrow(
      'Migration eta/1_bad.sql: name must match NNNN_snake_name.sql',
    )
    await expect(migrate(db.sql, [{ namespace: 'theta', dir: join(root, 'missing') }])).rejects.toThrow(
      /Migrations of "theta": cannot read/,
    )
    const s = await source('iota', { '0001_a.sql': 'select 1;' })
    await expect(migrate(db.sql, [s, s])).rejects.toThrow('Migration iota/0001_a.sql is listed twice')
  })

  it('applies each migration exactly once when two instances migrate at the same time', async () => {
    // Plain `create table` (no "if not exists") fails if a file runs twice; the log counts runs.
    const files: Record<string, string> = { '0001_log.sql': 'create table race_log (id text not null);' }
    for (let i = 2; i <= 8; i++) {
      const id = String(i).padStart(4, '0')
      files[`${id}_step.sql`] =
        `create table race_${i} (id int);\ninsert into race_log values ('${id}');\nselect pg_sleep(0.02);`
    }
    const a = await source('race', files)
    // A real server gets two separate pools, as two replicas would. PGlite admits one
    // connection (docs/performance-notes.md#pglite-takes-exactly-one-connection), so there both runs share it and interleave their transactions.
    const other = db.url ? await openDatabase({ url: db.url, max: 2 }) : db
    try {
      const [x, y] = await Promise.all([migrate(db.sql, [a]), migrate(other.sql, [a])])
      const all = [...x.applied, ...y.applied].sort()
      expect(all).toEqual(Object.keys(files).map((f) => `race/${f}`))
      expect((await db.sql`select id from race_log order by id`).map((r) => r.id)).toEqual([
        '0002',
        '0003',
        '0004',
        '0005',
        '0006',
        '0007',
        '0008',
      ])
      expect((await db.sql`select count(*)::int as c from omnistack_migrations`)[0]!.c).toBe(8)
    } finally {
      if (other !== db) await other.close()
    }
  })
})

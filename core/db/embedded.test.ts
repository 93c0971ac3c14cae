/** Embedded PGlite: persistence in DATA_DIR, the single-process lock, and fast isolated template clones. */
import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { templateDump } from '../testing/database.ts'
import { openDatabase } from './client.ts'
import { openEmbedded } from './embedded.ts'

const root = await mkdtemp(join(tmpdir(), 'omnistack-embedded-test-'))
afterAll(() => rm(root, { recursive: true, force: true }))

describe('embedded database (PGlite)', () => {
  it('keeps data in DATA_DIR/pg across close and reopen', async () => {
    const dataDir = join(root, 'persist')
    const started = performance.now()
    const first = await openDatabase({ dataDir })
    console.log(`fresh PGlite on disk: ${Math.round(performance.now() - started)} ms`)
    expect(first.kind).toBe('pglite')
    await first.sql`create table notes (id serial primary key, body text not null, n bigint not null)`
    await first.sql`insert into notes (body, n) values ('kept', 9007199254740993)`
    await first.close()
    await first.close() // idempotent

    const reopened = performance.now()
    const second = await openDatabase({ dataDir })
    console.log(`reopen PGlite from disk: ${Math.round(performance.now() - reopened)} ms`)
    try {
      const rows = await second.sql`select body, n, count(*) over () as c from notes`
      // docs/performance-notes.md#value-types: bigint (and so count(*)) arrives as a string, exactly.
      expect([...rows]).toEqual([{ body: 'kept', n: '9007199254740993', c: '1' }])
      expect(await readFile(join(dataDir, 'pg.lock'), 'utf8')).toBe(String(process.pid))
    } finally {
      await second.close()
    }
  })

  it('refuses a second open of the same DATA_DIR while it is in use', async () => {
    const dataDir = join(root, 'locked')
    const dump = await templateDump([])
    const db = await openEmbedded({ dataDir, loadDataDir: dump })
    try {
      await expect(openEmbedded({ dataDir })).rejects.toThrow(/already open in this process/)
    } finally {
      await db.close()
    }
    // A lock left by a process that is gone is taken over.
    await writeFile(join(dataDir, 'pg.lock'), '999999999')
    const again = await openEmbedded({ dataDir })
    expect((await again.sql`select 1 as one`)[0]!.one).toBe(1)
    await again.close()
  })

  // How fast a clone opens is measured by bench/, never asserted here: a timed unit test fails
  // on a loaded machine without anything being wrong (docs/testing.md).
  it('clones a template, and clones do not see each other', async () => {
    const dump = await templateDump([])
    const a = await openDatabase({ loadDataDir: dump })
    const b = await openDatabase({ loadDataDir: dump })
    try {
      await a.sql`create table only_in_a (id int)`
      await a.sql`insert into only_in_a values (1)`
      expect((await b.sql`select to_regclass('only_in_a')::text as r`)[0]!.r).toBeNull()
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('runs transactions and concurrent queries over its single connection', async () => {
    const db = await openDatabase({ loadDataDir: await templateDump([]) })
    try {
      await db.sql`create table counter (n int not null)`
      await db.sql`insert into counter values (0)`
      await Promise.all(Array.from({ length: 20 }, () => db.sql.begin((tx) => tx`update counter set n = n + 1`)))
      const rolledBack = db.sql.begin(async (tx) => {
        await tx`update counter set n = 1000`
        throw new Error('undo')
      })
      await expect(rolledBack).rejects.toThrow('undo')
      expect((await db.sql`select n from counter`)[0]!.n).toBe(20)
    } finally {
      await db.close()
    }
  })
})

describe('openDatabase (PostgreSQL URL)', () => {
  it('fails at open with a message naming the target but not the password', async () => {
    const err = await openDatabase({ url: 'postgres://someone:s3cret@127.0.0.1:1/nowhere' }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toStartWith('Cannot connect to DATABASE_URL (127.0.0.1:1/nowhere): ')
    expect(err?.message).not.toContain('s3cret')
  })
})

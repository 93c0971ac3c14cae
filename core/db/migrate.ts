/** Forward-only SQL migrations per namespace, recorded in a ledger, safe for replicas starting together. */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentLogger, type Logger } from '../observability/index.ts'
import type { Sql } from './client.ts'

export interface MigrationSource {
  /** The plugin name (`core` for the core); ledger ids are `<namespace>/<file>`. */
  namespace: string
  /** Folder of `NNNN_snake_name.sql` files. */
  dir: URL | string
}

export interface MigrationFile {
  /** `<namespace>/<file name>`, e.g. `core/0002_jobs.sql`. */
  id: string
  /** sha256 of the file with line endings normalised (a Windows checkout keeps its checksum). */
  checksum: string
  sql: string
}

const FILE_NAME = /^\d{4}_[a-z0-9_]+\.sql$/

// Every instance of every app takes this one transaction-level advisory lock around each
// migration, so concurrent runs serialise per migration and re-check the ledger under it.
const LOCK = 'select pg_advisory_xact_lock(7416371240013317)'

/** Files in run order: sources in the given order, then file names within each source. */
export async function listMigrationFiles(sources: MigrationSource[]): Promise<MigrationFile[]> {
  const files: MigrationFile[] = []
  for (const source of sources) {
    const dir = typeof source.dir === 'string' ? source.dir : fileURLToPath(source.dir)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      throw new Error(`Migrations of "${source.namespace}": cannot read ${dir}: ${(err as Error).message}`)
    }
    const sqlNames = names.filter((n) => n.endsWith('.sql')).sort()
    for (const name of sqlNames) {
      // A misnamed file would otherwise be skipped silently, or run out of order.
      if (!FILE_NAME.test(name))
        throw new Error(`Migration ${source.namespace}/${name}: name must match NNNN_snake_name.sql`)
      const text = (await readFile(join(dir, name), 'utf8')).replace(/\r\n/g, '\n')
      const checksum = createHash('sha256').update(text).digest('hex')
      files.push({ id: `${source.namespace}/${name}`, checksum, sql: text })
    }
  }
  return files
}

/**
 * Apply every pending migration, each in its own transaction together with its ledger row.
 * An applied file whose content changed stops the run before anything is applied.
 *
 * Locking: each migration's transaction first takes `pg_advisory_xact_lock`, then re-reads the
 * ledger, so two instances starting at once apply each file exactly once, in order. No
 * connection is held across migrations, which keeps PGlite's single connection free (on PGlite
 * all clients share one session, so the serialisation comes from its one-transaction-at-a-time
 * execution instead, with the same result).
 *
 * Statements that cannot run inside a transaction (`create index concurrently`) are not supported.
 */
export async function migrate(
  sql: Sql,
  sources: MigrationSource[],
  options: { logger?: Logger } = {},
): Promise<{ applied: string[] }> {
  const logger = options.logger ?? silentLogger
  const files = await listMigrationFiles(sources)
  const duplicate = files.find((f, i) => files.findIndex((g) => g.id === f.id) !== i)
  if (duplicate) throw new Error(`Migration ${duplicate.id} is listed twice (two sources share a namespace)`)

  await sql.begin(async (tx) => {
    await tx.unsafe(LOCK)
    await tx.unsafe(`create table if not exists omnistack_migrations (
      id text primary key,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`)
  })
  const recorded = await sql<{ id: string; checksum: string }[]>`select id, checksum from omnistack_migrations`
  const ledger = new Map(recorded.map((r) => [r.id, r.checksum]))
  for (const file of files) {
    const checksum = ledger.get(file.id)
    if (checksum !== undefined && checksum !== file.checksum) throw changedError(file.id)
  }

  const applied: string[] = []
  for (const file of files) {
    if (ledger.has(file.id)) continue
    const started = performance.now()
    const ran = await sql.begin(async (tx) => {
      await tx.unsafe(LOCK)
      const [row] = await tx<{ checksum: string }[]>`select checksum from omnistack_migrations where id = ${file.id}`
      if (row) {
        // Another instance applied it after we read the ledger.
        if (row.checksum !== file.checksum) throw changedError(file.id)
        return false
      }
      try {
        // No parameters: postgres.js uses the simple protocol, which runs multi-statement files.
        await tx.unsafe(file.sql)
      } catch (err) {
        throw failedError(file, err)
      }
      await tx`insert into omnistack_migrations (id, checksum) values (${file.id}, ${file.checksum})`
      return true
    })
    if (ran) {
      applied.push(file.id)
      logger.info('migration applied', { migration: file.id, ms: Math.round(performance.now() - started) })
    }
  }
  return { applied }
}

function changedError(id: string) {
  return new Error(
    `Migration ${id} was changed after it was applied (checksum mismatch). Migrations are forward-only: ` +
      'restore the file and add a new migration instead',
  )
}

/** `Migration core/0002_x.sql failed at line 12: <database message>`; the original is the cause. */
function failedError(file: MigrationFile, err: unknown) {
  const e = err as { message?: string; position?: string | number }
  const position = Number(e.position)
  const line = position > 0 ? ` at line ${file.sql.slice(0, position - 1).split('\n').length}` : ''
  return new Error(`Migration ${file.id} failed${line}: ${e.message ?? String(err)}`, { cause: err })
}

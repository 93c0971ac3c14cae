/** The database the app would open answers, and every migration of the core and the plugins is applied. */
import { access, constants } from 'node:fs/promises'
import { join } from 'node:path'
import { CORE_MIGRATIONS } from '../app/index.ts'
import { describeUrl, listMigrationFiles, openDatabase, type Database, type MigrationSource } from '../db/index.ts'
import { fail, pass, reason, warn, withTimeout, type AnyPlugin, type DoctorCheck } from '../plugin/index.ts'
import type { LoadedConfig } from './variables.ts'

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  )

export async function checkDatabase(
  { core }: LoadedConfig,
  plugins: readonly AnyPlugin[],
  timeoutMs: number,
): Promise<DoctorCheck[]> {
  const sources: MigrationSource[] = [
    CORE_MIGRATIONS,
    ...plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! })),
  ]
  const files = await listMigrationFiles(sources)
  let db: Database
  if (core.databaseUrl) {
    const target = describeUrl(core.databaseUrl)
    try {
      db = await withTimeout(
        openDatabase({ url: core.databaseUrl, max: 1, connectTimeoutMs: Math.min(timeoutMs, 60_000) }),
        timeoutMs + 1000,
        `PostgreSQL at ${target}`,
      )
    } catch (err) {
      return [
        fail(
          'database',
          `DATABASE_URL (${target}) unreachable: ${reason(err)}`,
          'check the host, port, user and password in DATABASE_URL and that PostgreSQL accepts connections from here; unset it to use the embedded database',
        ),
      ]
    }
  } else {
    const pgDir = join(core.dataDir, 'pg')
    if (!(await exists(pgDir))) {
      return [
        pass(
          'database',
          `embedded PGlite: a new database in ${pgDir}; its ${files.length} migrations apply at the first start`,
        ),
      ]
    }
    try {
      db = await openDatabase({ dataDir: core.dataDir })
    } catch (err) {
      const message = reason(err)
      if (message.includes('in use by process'))
        return [
          warn(
            'database',
            `embedded PGlite in ${pgDir} is open in a running server: migrations not checked`,
            'run the doctor while the server is stopped, or set DATABASE_URL',
          ),
        ]
      return [fail('database', `embedded PGlite in ${pgDir} does not open: ${message}`, 'check DATA_DIR')]
    }
  }
  try {
    const opened = pass('database', `${db.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'} answers`)
    return [opened, await checkMigrations(db, files)]
  } finally {
    await db.close()
  }
}

async function checkMigrations(
  db: Database,
  files: Awaited<ReturnType<typeof listMigrationFiles>>,
): Promise<DoctorCheck> {
  const [table] = await db.sql<{ name: string | null }[]>`select to_regclass('omnistack_migrations')::text as name`
  const rows = table?.name
    ? await db.sql<{ id: string; checksum: string }[]>`select id, checksum from omnistack_migrations`
    : []
  const ledger = new Map(rows.map((r) => [r.id, r.checksum]))
  const changed = files.filter((f) => ledger.has(f.id) && ledger.get(f.id) !== f.checksum).map((f) => f.id)
  if (changed.length)
    return fail(
      'migrations',
      `changed after they were applied: ${changed.join(', ')}`,
      'restore these files as they were applied and add a new migration instead (docs/data.md)',
    )
  const pending = files.filter((f) => !ledger.has(f.id)).map((f) => f.id)
  if (pending.length)
    return fail(
      'migrations',
      `${pending.length} pending: ${pending.join(', ')}`,
      'npm run migrate (the server also applies them when it starts)',
    )
  return pass('migrations', `all ${files.length} applied`)
}

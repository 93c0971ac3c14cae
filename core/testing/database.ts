/** A fresh, migrated database per test: a fast PGlite clone, or a new database on TEST_DATABASE_URL. */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import postgres from 'postgres'
import {
  openDatabase,
  type Database,
  openEmbedded,
  listMigrationFiles,
  migrate,
  type MigrationSource,
} from '../db/index.ts'

export interface TestDatabase extends Database {
  /** Connection string of this database (TEST_DATABASE_URL runs): open a second pool on it. */
  url?: string
}

export interface TestDatabaseOptions {
  /** @default the core's migrations; `[]` gives an empty database */
  migrations?: MigrationSource[]
  /** Embedded only: persist the clone in `${dataDir}/pg` so a test can close and reopen it. */
  dataDir?: string
}

const CORE: MigrationSource = { namespace: 'core', dir: new URL('../db/migrations/', import.meta.url) }
const PREFIX = 'omnistack_t_'

/**
 * With TEST_DATABASE_URL: creates `omnistack_t_<time>_<random>` on that server, migrates it, and
 * `close()` drops it. Otherwise a PGlite instance cloned from a migrated template (about 0.3 s
 * instead of 3-4 s for a fresh one, docs/performance-notes.md#a-fresh-pglite-is-slow-to-start).
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const migrations = options.migrations ?? [CORE]
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl) return createServerDatabase(serverUrl, migrations)
  const dump = await templateDump(migrations)
  return openEmbedded({ loadDataDir: dump, dataDir: options.dataDir })
}

async function createServerDatabase(serverUrl: string, migrations: MigrationSource[]): Promise<TestDatabase> {
  const name = `${PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  await withAdmin(serverUrl, async (admin) => {
    await dropStale(admin)
    await admin.unsafe(`create database "${name}"`)
  })
  const url = withDatabase(serverUrl, name)
  const drop = () =>
    withAdmin(serverUrl, async (admin) => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
    })
  let db: Database
  try {
    db = await openDatabase({ url, max: 5 })
  } catch (err) {
    await drop()
    throw err
  }
  try {
    await migrate(db.sql, migrations)
  } catch (err) {
    await db.close()
    await drop()
    throw err
  }
  let closed: Promise<void> | undefined
  return {
    sql: db.sql,
    kind: 'postgres',
    url,
    // `with (force)` (PostgreSQL 13+) terminates connections a test left open, e.g. a second pool.
    close: () => (closed ??= db.close().then(drop)),
  }
}

/** Test databases left by a crashed run; named by creation time, dropped after 6 hours. */
async function dropStale(admin: postgres.Sql) {
  const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${PREFIX + '%'}`
  const cutoff = Date.now() - 6 * 3600_000
  for (const { datname } of rows) {
    const created = parseInt(datname.slice(PREFIX.length).split('_')[0] ?? '', 36)
    if (created > 0 && created < cutoff)
      await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => {})
  }
}

async function withAdmin<T>(url: string, fn: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return await fn(admin)
  } finally {
    await admin.end({ timeout: 5 })
  }
}

function withDatabase(url: string, database: string) {
  const u = new URL(url)
  u.pathname = '/' + database
  return u.toString()
}

const templates = new Map<string, Promise<Blob>>()

/**
 * The dump of a PGlite database with `migrations` applied, built once per distinct migration set
 * (keyed by every file's checksum). bun test shares it in memory across one process's files;
 * it is also cached on disk, since `npm test` runs each file in its own process.
 * OMNISTACK_TEST_TEMPLATE_CACHE=0 turns the disk cache off.
 */
export async function templateDump(migrations: MigrationSource[]): Promise<Blob> {
  const files = await listMigrationFiles(migrations)
  const key = createHash('sha256')
    .update(JSON.stringify([pgliteVersion(), files.map((f) => [f.id, f.checksum])]))
    .digest('hex')
    .slice(0, 32)
  let pending = templates.get(key)
  if (!pending) {
    pending = loadOrBuild(key, migrations)
    templates.set(key, pending)
    pending.catch(() => templates.delete(key))
  }
  return pending
}

const CACHE_DIR = join(tmpdir(), 'omnistack-pglite-templates')

async function loadOrBuild(key: string, migrations: MigrationSource[]): Promise<Blob> {
  const useDisk = process.env.OMNISTACK_TEST_TEMPLATE_CACHE !== '0'
  const file = join(CACHE_DIR, `${key}.tar.gz`)
  if (useDisk) {
    // A cached file that fails to unpack is rebuilt below; a bad tarball fails PGlite's start.
    const cached = await readFile(file).catch(() => undefined)
    if (cached) {
      const tar = await promisify(gunzip)(cached).catch(() => undefined)
      if (tar) return new Blob([tar])
    }
  }
  const db = await openEmbedded()
  let dump: Blob
  try {
    await migrate(db.sql, migrations)
    dump = await db.dump()
  } finally {
    await db.close()
  }
  if (useDisk) await saveTemplate(file, dump).catch(() => {})
  return dump
}

async function saveTemplate(file: string, dump: Blob) {
  await mkdir(CACHE_DIR, { recursive: true })
  const compressed = await promisify(gzip)(new Uint8Array(await dump.arrayBuffer()), { level: 1 })
  // Write then rename: a concurrent reader never sees half a file.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.partial`
  await writeFile(partial, compressed)
  await rename(partial, file)
  // Templates older than a week go (one still in use is rebuilt once).
  const weekAgo = Date.now() - 7 * 86400_000
  for (const name of await readdir(CACHE_DIR)) {
    const path = join(CACHE_DIR, name)
    const info = await stat(path).catch(() => undefined)
    if (info && info.mtimeMs < weekAgo) await rm(path, { force: true })
  }
}

let version: string | undefined
/** A dump only loads into the PGlite build that wrote it. */
function pgliteVersion(): string {
  if (version) return version
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite')
    const pkg = createRequire(import.meta.url)(join(dirname(entry), '..', 'package.json')) as { version: string }
    version = pkg.version
  } catch {
    version = 'unknown'
  }
  return version
}

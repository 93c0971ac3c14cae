/** Embedded PostgreSQL: PGlite behind pglite-socket, reached through postgres.js like a real server. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import postgres from 'postgres'
import { silentLogger, type Logger } from '../observability/logger.ts'
import { clientOptions, type Database } from './client.ts'

export interface EmbeddedOptions {
  /** The database persists in `${dataDir}/pg`; unset keeps it in memory. */
  dataDir?: string
  /** Start from a `dumpDataDir()` dump instead of an empty cluster (test template clones). */
  loadDataDir?: Blob | File
  logger?: Logger
}

export interface EmbeddedDatabase extends Database {
  kind: 'pglite'
  /** A tarball of the whole data directory, for `loadDataDir` (uncompressed: faster to load). */
  dump(): Promise<Blob>
}

export async function openEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const logger = options.logger ?? silentLogger
  const cleanups: (() => Promise<unknown>)[] = []
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err) => logger.warn('embedded database cleanup failed', { error: err }))
  }
  try {
    let pgDir: string | undefined
    if (options.dataDir) {
      await mkdir(options.dataDir, { recursive: true })
      cleanups.push(await lockDataDir(options.dataDir))
      pgDir = join(options.dataDir, 'pg')
    }
    const started = performance.now()
    const pg = await PGlite.create({ dataDir: pgDir, loadDataDir: options.loadDataDir })
    cleanups.push(() => pg.close())

    // A unix socket in a private (0700) temp folder: no other local user can reach the
    // database, which accepts any connection without a password. Windows has no such
    // sockets for node:net servers, so it listens on a loopback port instead.
    let target: { path: string } | { host: string; port: number }
    let server: PGLiteSocketServer
    if (process.platform === 'win32') {
      server = new PGLiteSocketServer({ db: pg, host: '127.0.0.1', port: 0, maxConnections: 1 })
      await server.start()
      const [host, port] = server.getServerConn().split(':')
      target = { host: host!, port: Number(port) }
    } else {
      const socketDir = await mkdtemp(join(tmpdir(), 'omnistack-pg-'))
      cleanups.push(() => rm(socketDir, { recursive: true, force: true }))
      // PITFALLS: PGlite is one backend session; a second client would interleave its
      // protocol messages with ours, so the server admits exactly one connection.
      server = new PGLiteSocketServer({ db: pg, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 1 })
      await server.start()
      target = { path: join(socketDir, '.s.PGSQL.5432') }
    }
    cleanups.push(() => server.stop())

    const sql = postgres({
      ...clientOptions(logger),
      ...target,
      user: 'postgres',
      database: 'postgres',
      ssl: false,
      max: 1, // PITFALLS: a pool larger than one breaks PGlite ("portal does not exist")
    })
    cleanups.push(() => sql.end({ timeout: 5 }))
    await sql`select 1`
    logger.debug('database open', {
      kind: 'pglite',
      data_dir: options.dataDir ?? 'memory',
      from_dump: Boolean(options.loadDataDir),
      ms: Math.round(performance.now() - started),
    })

    let closed: Promise<void> | undefined
    return {
      sql,
      kind: 'pglite',
      close: () => (closed ??= cleanup()),
      dump: () => pg.dumpDataDir('none'),
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

// Directories this process holds, so a second open in-process fails as clearly as one from
// another process (PGlite itself does not notice: two writers corrupt the data directory).
const held = new Set<string>()

/** An exclusive `pg.lock` file holding our pid; a lock whose process is gone is taken over. */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'pg.lock')
  if (held.has(file)) throw new Error(`The embedded database in ${dir} is already open in this process`)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' })
      held.add(file)
      return async () => {
        held.delete(file)
        await rm(file, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim())
      // Our own pid in the file is a leftover of an earlier container run (pid 1 again).
      if (pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(
          `DATA_DIR ${dir} is in use by process ${pid}: the embedded database serves one process at a time ` +
            '(stop it, or set DATABASE_URL to share a PostgreSQL server)',
        )
      }
      await rm(file, { force: true })
    }
  }
  throw new Error(`Could not lock the embedded database in ${dir}`)
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

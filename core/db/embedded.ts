/**
 * Embedded PostgreSQL: PGlite behind pglite-socket, reached through postgres.js like a real
 * server. On Bun it runs in a worker thread (embedded-worker.ts); elsewhere in this thread.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { silentLogger, type Logger } from '../observability/index.ts'
import { clientOptions, type Database } from './sql.ts'
import type { WorkerReply, WorkerRequest } from './embedded-worker.ts'

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
    for (const fn of cleanups.splice(0).reverse())
      await fn().catch((err) => logger.warn('embedded database cleanup failed', { error: err }))
  }
  try {
    let pgDir: string | undefined
    if (options.dataDir) {
      await mkdir(options.dataDir, { recursive: true })
      cleanups.push(await lockDataDir(options.dataDir))
      pgDir = join(options.dataDir, 'pg')
    }
    const started = performance.now()
    const engine =
      process.platform === 'win32'
        ? await inProcessOnPort(pgDir, options.loadDataDir)
        : await onSocket(pgDir, options.loadDataDir)
    cleanups.push(engine.close)

    const sql = postgres({
      ...clientOptions(logger),
      ...engine.target,
      user: 'postgres',
      database: 'postgres',
      ssl: false,
      max: 1, // docs/performance-notes.md#pglite-takes-exactly-one-connection: a pool larger than one breaks PGlite ("portal does not exist")
    })
    cleanups.push(() => sql.end({ timeout: 5 }))
    await sql`select 1`
    logger.debug('database open', {
      kind: 'pglite',
      thread: engine.thread,
      data_dir: options.dataDir ?? 'memory',
      from_dump: Boolean(options.loadDataDir),
      ms: Math.round(performance.now() - started),
    })

    let closed: Promise<void> | undefined
    return {
      sql,
      kind: 'pglite',
      close: () => (closed ??= cleanup()),
      dump: engine.dump,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** A running PGlite with its socket server: where postgres.js connects, and how to dump and stop it. */
interface Engine {
  target: { path: string } | { host: string; port: number }
  thread: 'worker' | 'main'
  dump(): Promise<Blob>
  close(): Promise<unknown>
}

/**
 * A unix socket in a private (0700) temp folder: no other local user can reach the database,
 * which accepts any connection without a password. On Bun, PGlite runs in a worker thread.
 */
async function onSocket(dataDir: string | undefined, load: Blob | undefined): Promise<Engine> {
  const socketDir = await mkdtemp(join(tmpdir(), 'omnistack-pg-'))
  const path = join(socketDir, '.s.PGSQL.5432')
  const removeDir = () => rm(socketDir, { recursive: true, force: true })
  try {
    const engine =
      typeof Bun !== 'undefined' ? await inWorker(path, dataDir, load) : await inProcess({ path }, dataDir, load)
    return { ...engine, close: () => engine.close().finally(removeDir) }
  } catch (err) {
    await removeDir()
    throw err
  }
}

/** Windows has no unix sockets for node:net servers: a loopback port, in this thread. */
async function inProcessOnPort(dataDir: string | undefined, load: Blob | undefined): Promise<Engine> {
  return inProcess({ host: '127.0.0.1', port: 0 }, dataDir, load)
}

async function inProcess(
  at: { path: string } | { host: string; port: number },
  dataDir: string | undefined,
  load: Blob | undefined,
): Promise<Engine> {
  // Loaded here only: on Bun the main thread never needs PGlite's code (the worker has it).
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ])
  const pg = await PGlite.create({ dataDir, loadDataDir: load })
  try {
    // docs/performance-notes.md#pglite-takes-exactly-one-connection: PGlite is one backend session; a second client would interleave its protocol
    // messages with ours, so the server admits exactly one connection.
    const server = new PGLiteSocketServer({ db: pg, ...at, maxConnections: 1 })
    await server.start()
    let target = at
    if ('port' in at) {
      const [host, port] = server.getServerConn().split(':')
      target = { host: host!, port: Number(port) }
    }
    return {
      target,
      thread: 'main',
      dump: () => pg.dumpDataDir('none'),
      close: async () => {
        await server.stop()
        await pg.close()
      },
    }
  } catch (err) {
    await pg.close()
    throw err
  }
}

/** PGlite in a worker thread (embedded-worker.ts), driven by request/reply messages. */
async function inWorker(path: string, dataDir: string | undefined, load: Blob | undefined): Promise<Engine> {
  const worker = new Worker(new URL('./embedded-worker.ts', import.meta.url).href)
  // A database someone forgot to close does not keep the process alive.
  ;(worker as unknown as { unref?: () => void }).unref?.()
  const waiting = new Map<number, { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }>()
  let crashed: Error | undefined
  let next = 0
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    const reply = event.data
    const w = waiting.get(reply.id)
    if (!w) return
    waiting.delete(reply.id)
    if (reply.ok) return w.resolve(reply)
    w.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, stack: reply.error.stack }))
  }
  worker.onerror = (event: ErrorEvent) => {
    crashed = new Error(`The embedded database thread failed: ${event.message}`)
    for (const w of waiting.values()) w.reject(crashed)
    waiting.clear()
  }
  const ask = (m: DistributiveOmit<WorkerRequest, 'id'>, transfer: Transferable[] = []) =>
    new Promise<WorkerReply & { ok: true }>((resolve, reject) => {
      if (crashed) return reject(crashed)
      const id = ++next
      waiting.set(id, { resolve, reject })
      worker.postMessage({ ...m, id }, transfer)
    })

  try {
    const buffer = load ? await load.arrayBuffer() : undefined
    await ask({ type: 'open', dataDir, load: buffer, path }, buffer ? [buffer] : [])
  } catch (err) {
    worker.terminate()
    throw err
  }
  let closed = false
  return {
    target: { path },
    thread: 'worker',
    dump: async () => new Blob([(await ask({ type: 'dump' })).dump!]),
    close: async () => {
      if (closed) return
      closed = true
      try {
        await ask({ type: 'close' })
      } finally {
        worker.terminate()
      }
    },
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

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

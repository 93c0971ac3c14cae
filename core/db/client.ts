/** openDatabase(): one postgres.js client for both DATABASE_URL and embedded PGlite (docs/data.md). */
import postgres from 'postgres'
import { silentLogger, type Logger } from '../observability/index.ts'
import { clientOptions, type Database } from './sql.ts'

export type { Database, Sql } from './sql.ts'

export interface OpenDatabaseOptions {
  /** DATABASE_URL; unset opens the embedded PGlite. */
  url?: string
  /** DATA_DIR: the embedded database lives in `${dataDir}/pg`; unset keeps it in memory. */
  dataDir?: string
  /** Start PGlite from a `dumpDataDir()` dump (test template clones). */
  loadDataDir?: Blob | File
  /**
   * Pool size on a real PostgreSQL. Always 1 for PGlite (docs/performance-notes.md#pglite-takes-exactly-one-connection: a larger pool breaks it).
   * @default 10
   */
  max?: number
  /** DATABASE_CONNECT_TIMEOUT_MS: a connection attempt gives up after this. @default 2000 */
  connectTimeoutMs?: number
  /** DATABASE_STATEMENT_TIMEOUT_MS: the server cancels a statement running longer (0 = never). @default 30000 */
  statementTimeoutMs?: number
  logger?: Logger
}

/**
 * Between two failed connection attempts postgres.js waits up to 20 s by default, and queries
 * wait with it: during an outage requests would hang that long. Retrying every quarter second
 * keeps the answer (503, docs/security.md#dependency-failures) quick and recovery immediate.
 */
const MAX_RECONNECT_DELAY_SECONDS = 0.25

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const logger = options.logger ?? silentLogger
  if (!options.url) {
    // Loaded on demand so a deployment on a real PostgreSQL never loads the WASM build.
    const { openEmbedded } = await import('./embedded.ts')
    return openEmbedded({ dataDir: options.dataDir, loadDataDir: options.loadDataDir, logger })
  }
  const base = clientOptions(logger)
  const sql = postgres(options.url, {
    ...base,
    max: options.max ?? 10,
    connect_timeout: (options.connectTimeoutMs ?? 2000) / 1000,
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, MAX_RECONNECT_DELAY_SECONDS),
    connection: { ...base.connection, statement_timeout: options.statementTimeoutMs ?? 30_000 },
  })
  try {
    // Fail at start with a clear message, not on the first request.
    await sql`select 1`
  } catch (err) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw new Error(`Cannot connect to DATABASE_URL (${describeUrl(options.url)}): ${(err as Error).message}`, {
      cause: err,
    })
  }
  logger.debug('database open', { kind: 'postgres', target: describeUrl(options.url) })
  let closed: Promise<void> | undefined
  return {
    sql,
    kind: 'postgres',
    close: () => (closed ??= sql.end({ timeout: 5 })),
  }
}

/** host:port/database without user or password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}${u.port ? ':' + u.port : ''}${u.pathname}`
  } catch {
    return 'unparsable URL'
  }
}

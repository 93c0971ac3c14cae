/** openDatabase(): one postgres.js client for both DATABASE_URL and embedded PGlite (SPEC §8). */
import postgres from 'postgres'
import { silentLogger, type Logger } from '../observability/logger.ts'

/**
 * The postgres.js tagged-template client every service receives.
 *
 * Value types are the same on PostgreSQL and PGlite (PITFALLS "Embedded Postgres"):
 * - `bigint` (int8), and so `count(*)` and `sum(int)`, arrive as **strings**: cast in SQL
 *   (`count(*)::int`) when the value fits 2^31, keep it a string when it can exceed 2^53;
 * - `numeric` arrives as a string, `timestamptz` as a `Date`, `jsonb` as parsed JSON;
 * - column names are not transformed: rows keep their snake_case keys.
 *
 * With PGlite the pool has one connection: inside `sql.begin(tx => ...)` use `tx` only, since a
 * query on the outer `sql` would wait for the connection the transaction holds (a deadlock).
 */
export type Sql = postgres.Sql<{}>

export interface Database {
  sql: Sql
  kind: 'postgres' | 'pglite'
  /** Ends the pool; for PGlite also stops the socket server and the database. Idempotent. */
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  /** DATABASE_URL; unset opens the embedded PGlite. */
  url?: string
  /** DATA_DIR: the embedded database lives in `${dataDir}/pg`; unset keeps it in memory. */
  dataDir?: string
  /** Start PGlite from a `dumpDataDir()` dump (test template clones). */
  loadDataDir?: Blob | File
  /**
   * Pool size on a real PostgreSQL. Always 1 for PGlite (PITFALLS: a larger pool breaks it).
   * @default 10
   */
  max?: number
  logger?: Logger
}

/** Options shared by both kinds: quiet notices, no transforms, connections that stay open. */
export function clientOptions(logger: Logger): postgres.Options<{}> {
  return {
    onnotice: (notice) => logger.debug('postgres notice', { message: notice.message, code: notice.code }),
    // postgres.js otherwise recycles connections every 30-60 minutes; the pool's own idle
    // handling is enough and PGlite gains nothing from a reconnect.
    max_lifetime: 0,
    connection: { application_name: 'omnistack' },
  }
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const logger = options.logger ?? silentLogger
  if (!options.url) {
    // Loaded on demand so a deployment on a real PostgreSQL never loads the WASM build.
    const { openEmbedded } = await import('./embedded.ts')
    return openEmbedded({ dataDir: options.dataDir, loadDataDir: options.loadDataDir, logger })
  }
  const sql = postgres(options.url, { ...clientOptions(logger), max: options.max ?? 10 })
  try {
    // Fail at start with a clear message, not on the first request.
    await sql`select 1`
  } catch (err) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw new Error(`Cannot connect to DATABASE_URL (${describeUrl(options.url)}): ${(err as Error).message}`, { cause: err })
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

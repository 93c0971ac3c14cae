/** The client type every service receives, and what both kinds of database share (client.ts, embedded.ts). */
import type postgres from 'postgres'
import type { Logger } from '../observability/index.ts'

/**
 * The postgres.js tagged-template client every service receives.
 *
 * Value types are the same on PostgreSQL and PGlite (docs/performance-notes.md#value-types):
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

/** The PostgreSQL cursor an export reads from (docs/plugins/tickets.md#export). */
import type { Sql } from '../../core/index.ts'

/** An export (and the connection it holds) ends after this, however slow its client. */
const EXPORT_TIMEOUT_MS = 15 * 60_000

/**
 * A cursor inside a read-only transaction (one snapshot; the statement timeout of the connection
 * would otherwise cancel a long export), kept open until `finish()`.
 *
 * postgres.js closes a cursor only between two batches (`return()` while a `next()` is in flight
 * does nothing), and a transaction ended around a cursor still open never commits: either leaves the
 * connection waiting forever, and on PGlite that is the only connection. So `finish()` first lets a
 * batch in flight land, then closes the cursor unless it ran to its end, then ends the transaction.
 */
export async function openCursor<T>(
  sql: Sql,
  query: (tx: Sql) => { cursor(rows: number): AsyncIterable<T[]> },
  batch: number,
) {
  let settle!: (err?: unknown) => void
  const settled = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve())
  })
  let opened!: (it: AsyncIterator<T[]>) => void
  let failed!: (err: unknown) => void
  const iterator = new Promise<AsyncIterator<T[]>>((resolve, reject) => {
    opened = resolve
    failed = reject
  })
  const tx = sql.begin('read only', async (tx) => {
    await tx`select set_config('statement_timeout', ${String(EXPORT_TIMEOUT_MS)}, true)`
    opened(
      query(tx as unknown as Sql)
        .cursor(batch)
        [Symbol.asyncIterator](),
    )
    await settled
  })
  // A failure before the cursor opened rejects `iterator`; a later one is the caller's (finish(err)).
  tx.catch(failed)
  const it = await iterator
  let inFlight: Promise<unknown> | undefined
  let exhausted = false
  let finishing: Promise<void> | undefined
  return {
    async next(): Promise<IteratorResult<T[]>> {
      const p = it.next()
      inFlight = p.catch(() => {})
      try {
        const r = await p
        if (r.done) exhausted = true
        return r
      } catch (err) {
        exhausted = true
        throw err
      } finally {
        inFlight = undefined
      }
    },
    finish(err?: unknown): Promise<void> {
      finishing ??= (async () => {
        await inFlight
        if (!exhausted) await it.return?.()
        settle(err)
        await tx.catch(() => {})
      })()
      return finishing
    },
  }
}

/**
 * Idempotency-Key on POST under /app (docs/idempotency.md, as Stripe does), the whole lifecycle in one place:
 *
 * - reserve (stage `idempotency`, before the handler): the key is validated and reserved per
 *   user against a hash of method, path and the raw body; a retry with the same body whose first
 *   answer is stored is **replayed** without running the handler; another body, or a retry while
 *   the first still runs, is 409.
 * - complete or release (stage `idempotency settle`, after the envelope, before the answer is
 *   sent, so a retry that arrives next sees it): a 2xx/4xx answer is stored; an error, a 5xx, or
 *   a Response the core cannot store (unless the handler named a replay body with `replayAs()`)
 *   releases the key so the client can retry.
 */
import { createHash } from 'node:crypto'
import type { Sql } from '../db/index.ts'
import { conflict, payloadTooLarge, validation } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import type { Exchange } from './request-state.ts'

const KEY = /^[\x21-\x7e]{1,255}$/

export type Reservation = { kind: 'new' } | { kind: 'replay'; status: number; body: string }

/** The store: one row per (user, key) in idempotency_keys. */
export interface Idempotency {
  validateKey(key: string): void
  /** `hash` identifies the request: method, path and the raw body's bytes. */
  reserve(userId: string, key: string, method: string, path: string, hash: string): Promise<Reservation>
  complete(userId: string, key: string, status: number, body: string): Promise<void>
  release(userId: string, key: string): Promise<void>
  purgeExpired(): Promise<number>
}

/** A request left running this long is presumed lost with its process and may be taken over. */
const ABANDONED_AFTER = '5 minutes'

export function createIdempotency(sql: Sql, ttlHours: number): Idempotency {
  return {
    validateKey(key) {
      if (!KEY.test(key))
        throw validation('Idempotency-Key', 'Idempotency-Key must be 1-255 printable ASCII characters')
    },
    async reserve(userId, key, method, path, hash) {
      const taken = await sql`
        insert into idempotency_keys (user_id, key, request_hash, method, path)
        values (${userId}, ${key}, ${hash}, ${method}, ${path})
        on conflict (user_id, key) do update set
          request_hash = excluded.request_hash, method = excluded.method, path = excluded.path,
          status_code = null, response_body = null, created_at = now(), completed_at = null
        where idempotency_keys.created_at < now() - make_interval(hours => ${ttlHours})
           or (idempotency_keys.status_code is null
               and idempotency_keys.created_at < now() - interval '${sql.unsafe(ABANDONED_AFTER)}')
        returning 1`
      if (taken.length > 0) return { kind: 'new' }
      const [row] = await sql<{ request_hash: string; status_code: number | null; response_body: string | null }[]>`
        select request_hash, status_code, response_body from idempotency_keys where user_id = ${userId} and key = ${key}`
      if (!row) return { kind: 'new' } // released between our two statements; run it
      if (row.request_hash !== hash) {
        throw conflict('Idempotency-Key was already used with a different request', { idempotency_key: key })
      }
      if (row.status_code === null) {
        throw conflict('A request with this Idempotency-Key is still being processed', { idempotency_key: key })
      }
      return { kind: 'replay', status: row.status_code, body: row.response_body ?? '' }
    },
    async complete(userId, key, status, body) {
      await sql`update idempotency_keys set status_code = ${status}, response_body = ${body}, completed_at = now()
        where user_id = ${userId} and key = ${key}`
    },
    async release(userId, key) {
      await sql`delete from idempotency_keys where user_id = ${userId} and key = ${key} and status_code is null`
    },
    async purgeExpired() {
      const rows =
        await sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${ttlHours}) returning 1`
      return rows.length
    },
  }
}

/** The two pipeline stages over a store. */
export function idempotencyStages(store: Idempotency, options: { maxJsonBytes: number; logger: Logger }) {
  /** Reserve or replay: POST under /app with Idempotency-Key, after authentication and rate limit. */
  function reserve(x: Exchange): void | Promise<void> {
    if (x.zone !== 'app' || x.method !== 'POST' || !x.principal) return
    const key = x.request.headers.get('idempotency-key')
    if (key === null) return
    store.validateKey(key)
    const userId = x.principal.user.id
    const request = x.request
    return readBounded(request, options.maxJsonBytes).then(async (text) => {
      const hash = createHash('sha256').update(`${x.method} ${x.path}\n${text}`).digest('hex')
      const r = await store.reserve(userId, key, x.method, x.path, hash)
      if (r.kind === 'replay') {
        x.status = r.status
        x.body = r.body || null
        if (r.body) x.contentType = 'application/json'
        x.headers['idempotent-replayed'] = 'true'
        x.answered = true
        return
      }
      x.idempotencyKey = key
      // The body was consumed for the hash: the handler gets the same bytes.
      x.request = new Request(request.url, { method: x.method, headers: request.headers, body: text })
    })
  }

  /** Complete or release a reservation, whatever the answer was. Never fails the request. */
  function settle(x: Exchange): void | Promise<void> {
    const key = x.idempotencyKey
    if (key === undefined) return
    x.idempotencyKey = undefined
    const userId = x.principal!.user.id
    let stored: string | undefined
    if (x.failed || x.status >= 500) stored = undefined
    else if (x.response)
      stored = x.replayBody // a stream or hand-built Response is kept only as named by replayAs()
    else stored = x.body ?? ''
    if (stored === undefined) {
      return store
        .release(userId, key)
        .catch((err) => options.logger.warn('idempotency release failed', { request_id: x.id, error: err }))
    }
    // If storing fails the answer still stands; the reservation stays open until it counts as abandoned.
    return store
      .complete(userId, key, x.status, stored)
      .catch((err) => options.logger.error('idempotency completion failed', { request_id: x.id, error: err }))
  }

  return { reserve, settle }
}

/** Reads a body as text, refusing it once it passes `max` bytes. */
async function readBounded(request: Request, max: number): Promise<string> {
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      throw payloadTooLarge(max)
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return new TextDecoder().decode(out)
}

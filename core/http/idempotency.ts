/**
 * Idempotency-Key on POST under /app (SPEC §3, as Stripe does): the first response is stored
 * per user and key; a retry with the same body replays it without running the handler; another
 * body, or a retry while the first still runs, is 409. Only completed 2xx/4xx results are kept:
 * a 5xx or a crash releases the key so the client can retry.
 */
import type { Sql } from '../db/index.ts'
import { conflict, validation } from '../errors/index.ts'

const KEY = /^[\x21-\x7e]{1,255}$/

export type Reservation = { kind: 'new' } | { kind: 'replay'; status: number; body: string }

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
      if (!KEY.test(key)) throw validation('Idempotency-Key', 'Idempotency-Key must be 1-255 printable ASCII characters')
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
      const rows = await sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${ttlHours}) returning 1`
      return rows.length
    },
  }
}

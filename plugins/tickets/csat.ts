/**
 * CSAT (docs/plugins/tickets.md#csat): the satisfaction survey a close issues.
 *
 * The token is never stored. A close draws a random nonce (128 bits); the token is
 * HMAC-SHA256(key, nonce), 256 bits in base64url, and the row keeps the nonce and the token's
 * SHA-256. The public form finds its ticket by that hash (a unique index); the ticket view rebuilds
 * the link from the nonce with the key, which lives in TICKETS_CSAT_SECRET or DATA_DIR, never in
 * the database: a database read alone yields no working link.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Logger, Queryable } from '../../core/index.ts'
import { loadSigningSecret } from '../files/index.ts'

export type CsatScore = 'good' | 'bad'

/** The CSAT columns of a ticket row (0001 and 0002_csat.sql). */
export interface CsatColumns {
  csat_nonce: string | null
  csat_token_hash: string | null
  csat_issued_at: Date | null
  csat_score: CsatScore | null
  csat_comment: string | null
  csat_answered_at: Date | null
}

/** What close and reopen call inside their transactions, and what the ticket view reads. */
export interface CsatHooks {
  /** Close: a new token; the previous answer, if any, is cleared (the activity log keeps it). */
  issue(tx: Queryable, ticketId: string, at: Date): Promise<unknown>
  /** Reopen: an unanswered token stops working; an answered survey stays on the ticket. */
  void(tx: Queryable, ticketId: string): Promise<unknown>
  /** The public form's URL, or null when this server cannot rebuild it (docs/plugins/tickets.md#csat). */
  link(row: CsatColumns): string | null
}

/** A token as issued: 43 base64url characters (256 bits). Anything else is unknown without a lookup. */
export const CSAT_TOKEN = /^[A-Za-z0-9_-]{43}$/

/**
 * TICKETS_CSAT_SECRET, else a random key kept in `${dataDir}/tickets-csat.key` (0600), created by
 * the first process that needs it (the files plugin's key file logic). Replicas that do not share
 * DATA_DIR must share the variable.
 */
export const loadCsatKey = (dataDir: string, configured?: string): Buffer =>
  Buffer.from(loadSigningSecret(dataDir, configured, 'tickets-csat.key'), 'utf8')

export const csatTokenHash = (token: string) => createHash('sha256').update(token).digest('hex')

export function createCsatTokens(d: { key: Buffer; publicUrl: string; logger: Logger }): CsatHooks {
  const base = `${d.publicUrl.replace(/\/+$/, '')}/api/v1/public/csat/`
  const tokenOf = (nonce: string) => createHmac('sha256', d.key).update(`csat:${nonce}`).digest('base64url')
  let warned = false
  return {
    issue(tx, ticketId, at) {
      const nonce = randomBytes(16).toString('base64url')
      return tx`update tickets set csat_nonce = ${nonce}, csat_token_hash = ${csatTokenHash(tokenOf(nonce))},
          csat_issued_at = ${at}, csat_score = null, csat_comment = null, csat_answered_at = null
        where id = ${ticketId}`
    },
    void: (tx, ticketId) => tx`update tickets set csat_nonce = null, csat_token_hash = null, csat_issued_at = null
        where id = ${ticketId} and csat_answered_at is null`,
    link(row) {
      if (!row.csat_nonce || !row.csat_token_hash) return null
      const token = tokenOf(row.csat_nonce)
      const expected = Buffer.from(row.csat_token_hash, 'hex')
      const actual = createHash('sha256').update(token).digest()
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
        // Issued under another key (replicas without a shared TICKETS_CSAT_SECRET): no wrong link.
        if (!warned) d.logger.warn('tickets: a CSAT token was issued under another key; set TICKETS_CSAT_SECRET')
        warned = true
        return null
      }
      return base + token
    },
  }
}

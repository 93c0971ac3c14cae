/**
 * The public side of CSAT (docs/plugins/tickets.md#csat): find a survey by its token's hash, answer
 * it once. Tokens and links are csat.ts.
 */
import { timingSafeEqual } from 'node:crypto'
import type { EventBus, Logger, Sql } from '../../core/index.ts'
import { CSAT_TOKEN, type CsatScore, csatTokenHash } from './csat.ts'
import type { TicketRow, TicketsService } from './service.ts'

export interface CsatAnswer {
  score: CsatScore
  comment?: string | null
}

/** `open`: waiting for an answer; `recorded`: this call answered it; `answered`: it was already (409). */
export type CsatLookup = { state: 'unknown' } | { state: 'open' | 'recorded' | 'answered'; number: number }

/** The public side: find a survey by its token, answer it once. */
export function createCsatSurvey(d: {
  sql: Sql
  tickets: TicketsService
  events: EventBus
  logger: Logger
  now: () => Date
}) {
  const { sql, tickets } = d
  const hashOf = (token: string) => (CSAT_TOKEN.test(token) ? csatTokenHash(token) : undefined)
  const lookup = async (hash: string | undefined): Promise<CsatLookup> => {
    if (!hash) return { state: 'unknown' }
    const [row] = await sql<{ number: number; csat_token_hash: string; csat_answered_at: Date | null }[]>`
      select number, csat_token_hash, csat_answered_at from tickets
      where csat_token_hash = ${hash} and deleted_at is null`
    // The index found it by equality; compared again in constant time all the same.
    if (!row || !timingSafeEqual(Buffer.from(row.csat_token_hash), Buffer.from(hash))) return { state: 'unknown' }
    return { state: row.csat_answered_at ? 'answered' : 'open', number: row.number }
  }

  return {
    find: (token: string) => lookup(hashOf(token)),

    /** Once only: the update matches an unanswered survey, so two racing answers cannot both win. */
    async answer(token: string, input: CsatAnswer): Promise<CsatLookup> {
      const hash = hashOf(token)
      if (!hash) return { state: 'unknown' }
      const comment = input.comment?.trim() || null
      const at = d.now()
      const row = await sql.begin(async (tx) => {
        const [r] = await tx<TicketRow[]>`update tickets set csat_score = ${input.score}, csat_comment = ${comment},
            csat_answered_at = ${at}
          where csat_token_hash = ${hash} and deleted_at is null and csat_answered_at is null
          returning ${tickets.columns}`
        if (!r) return undefined
        // Anonymous (whoever holds the link); the activity log keeps every answer, even once a later close clears it.
        await tickets.activityIn(tx, r.id, null, 'csat_answered', { score: input.score, comment })
        return r
      })
      if (!row) {
        const found = await lookup(hash)
        return found.state === 'open' ? { state: 'answered', number: found.number } : found
      }
      try {
        // The link is the requester's: the change is credited to them.
        await d.events.publish('ticket.updated', {
          ticket: tickets.view(row),
          changed: ['csat'],
          actor_id: row.requester_id,
        })
      } catch (err) {
        d.logger.error('tickets: event publish failed', { event: 'ticket.updated', error: err })
      }
      return { state: 'recorded', number: row.number }
    },
  }
}

export type CsatSurvey = ReturnType<typeof createCsatSurvey>

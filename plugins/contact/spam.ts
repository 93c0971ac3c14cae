/**
 * Spam defences that ask nothing of people: a honeypot field (hidden from humans, filled by
 * bots) and a minimum fill time proven by a signed form token from GET /contact/status.
 * Both are optional: a form that sends neither is never flagged for it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Sql } from '../../core/index.ts'

export interface SpamVerdict {
  spam: boolean
  reason: string | null
}

/** Tokens may come from a replica whose clock runs slightly ahead. */
const CLOCK_SKEW_MS = 5_000

export interface FormTokens {
  issue(now?: number): Promise<string>
  /** Milliseconds since the token was issued, or undefined when it was not issued by us. */
  age(token: string, now?: number): Promise<number | undefined>
}

/** The signing key lives in the database so that every replica issues and accepts the same tokens. */
export function createFormTokens(sql: Sql): FormTokens {
  let key: Promise<Buffer> | undefined
  const load = () =>
    (key ??= (async () => {
      await sql`insert into contact_form_keys (id, secret) values (1, ${randomBytes(32).toString('base64url')})
        on conflict (id) do nothing`
      const [row] = await sql<{ secret: string }[]>`select secret from contact_form_keys where id = 1`
      return Buffer.from(row!.secret, 'base64url')
    })().catch((err) => {
      key = undefined
      throw err
    }))
  const sign = (k: Buffer, issued: string) =>
    createHmac('sha256', k).update(`contact-form:${issued}`).digest('base64url').slice(0, 32)

  return {
    async issue(now = Date.now()) {
      const issued = now.toString(36)
      return `${issued}.${sign(await load(), issued)}`
    },
    async age(token, now = Date.now()) {
      const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{32})$/.exec(token)
      if (!m) return undefined
      const expected = Buffer.from(sign(await load(), m[1]!))
      const given = Buffer.from(m[2]!)
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined
      const age = now - parseInt(m[1]!, 36)
      return age < -CLOCK_SKEW_MS ? undefined : Math.max(0, age)
    },
  }
}

export interface SpamInput {
  honeypot?: string | null
  formToken?: string | null
}

/** The first defence that trips names the reason (kept on the row for admins). */
export async function judge(input: SpamInput, tokens: FormTokens, minFillMs: number): Promise<SpamVerdict> {
  if (input.honeypot && input.honeypot.trim() !== '') return { spam: true, reason: 'honeypot' }
  if (input.formToken) {
    const age = await tokens.age(input.formToken)
    if (age === undefined) return { spam: true, reason: 'form_token_invalid' }
    if (age < minFillMs) return { spam: true, reason: 'too_fast' }
  }
  return { spam: false, reason: null }
}

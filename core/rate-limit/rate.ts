/** `N/second|minute|hour|day` rules (docs/rate-limits.md#rules) and the window arithmetic every store shares. */
import type { RateResult, RateRule } from './types.ts'

const UNIT_MS: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
}

// Plural units ('10/minutes') and spaces around the slash are forgiven; anything else is not.
const RATE = /^(\d{1,9})\s*\/\s*(second|minute|hour|day)s?$/i

/** Parses '60/minute'; throws `expected N/second|minute|hour|day, got "abc"` otherwise. */
export function parseRate(text: string): RateRule {
  const m = RATE.exec(text.trim())
  const limit = m ? Number(m[1]) : 0
  if (!m || limit < 1) throw new Error(`expected N/second|minute|hour|day, got "${text}"`)
  const unit = m[2]!.toLowerCase()
  return { limit, windowMs: UNIT_MS[unit]!, text: `${limit}/${unit}` }
}

/** The result for `count` hits in a window that ends at `endsAt` (ms), seen at `now` (ms). */
export function windowResult(rule: RateRule, count: number, endsAt: number, now: number): RateResult {
  const allowed = count <= rule.limit
  return {
    allowed,
    limit: rule.limit,
    remaining: allowed ? rule.limit - count : 0,
    reset: Math.ceil(endsAt / 1000),
    retryAfter: allowed ? 0 : Math.max(1, Math.ceil((endsAt - now) / 1000)),
  }
}

/** State without counting: `allowed` says whether the next hit would pass. */
export function peekResult(rule: RateRule, count: number, endsAt: number, now: number): RateResult {
  const r = windowResult(rule, count + 1, endsAt, now)
  r.remaining = Math.max(0, rule.limit - count)
  return r
}

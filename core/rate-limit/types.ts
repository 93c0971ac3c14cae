/** Rate-limit contracts shared by the stores and the limiter (docs/rate-limits.md). */

/** A parsed `N/second|minute|hour|day` rule; `text` is the normalised form for docs and logs. */
export interface RateRule {
  limit: number
  windowMs: number
  text: string
}

export interface RateResult {
  allowed: boolean
  limit: number
  remaining: number
  /** Unix seconds at which the current window ends (X-RateLimit-Reset). */
  reset: number
  /** Seconds to wait (>= 1) when refused, 0 when allowed (Retry-After). */
  retryAfter: number
}

/**
 * A counter store. Fixed windows: a key's window opens at its first hit and lasts
 * `rule.windowMs`; the hit that makes the count exceed `rule.limit` and every later one in
 * that window are refused (refused hits still count, so hammering does not help).
 */
export interface RateLimitStore {
  /** Counts one hit. The memory store answers synchronously: the hot path makes no promise. */
  hit(key: string, rule: RateRule): RateResult | Promise<RateResult>
  /** The current state without counting (e.g. the contact form's status route). */
  peek(key: string, rule: RateRule): RateResult | Promise<RateResult>
  close(): Promise<void>
}

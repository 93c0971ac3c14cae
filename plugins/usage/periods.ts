/**
 * UTC calendar arithmetic for usage: periods are calendar months, days are UTC days
 * ('YYYY-MM-DD'), and the growth and trend rules of the Usage endpoints.
 */

export const DAY_MS = 86_400_000

/** Growth (in percent) beyond which a trend is increasing or decreasing. */
export const TREND_THRESHOLD = 5

export interface Period {
  /** First instant of the month. */
  start: Date
  /** First instant of the next month (exclusive). */
  end: Date
}

export type Trend = 'increasing' | 'decreasing' | 'stable'

/** The UTC day of an instant: 'YYYY-MM-DD'. */
export const dayOf = (at: Date | number): string =>
  new Date(typeof at === 'number' ? at : at.getTime()).toISOString().slice(0, 10)

/** The day `n` days after `day` (negative: before). */
export const addDays = (day: string, n: number): string => dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS)

/** The calendar month holding `now`, or `offset` months from it. */
export function monthPeriod(now: Date, offset = 0): Period {
  const y = now.getUTCFullYear()
  const m = now.getUTCMonth() + offset
  return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) }
}

/** Seconds-precision ISO 8601 in UTC: '2026-01-31T23:59:59Z'. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

/** The period as docs/plugins/usage.md shows it: start and the last second of the month. */
export const periodView = (p: Period) => ({
  start: isoSeconds(p.start),
  end: isoSeconds(new Date(p.end.getTime() - 1000)),
})

/** Days of the period elapsed at `now`, today included (1 on the 1st). */
export const elapsedDays = (p: Period, now: Date): number => {
  const total = Math.round((p.end.getTime() - p.start.getTime()) / DAY_MS)
  return Math.min(total, Math.max(1, Math.floor((now.getTime() - p.start.getTime()) / DAY_MS) + 1))
}

export const round2 = (x: number): number => Math.round(x * 100) / 100

/** Percent change against the previous value, two decimals; null when the previous is 0. */
export const growthRate = (current: number, previous: number): number | null =>
  previous === 0 ? null : round2(((current - previous) / Math.abs(previous)) * 100)

/**
 * increasing: growth above +5 %, or something where the previous was 0; decreasing: growth
 * below -5 % (or a negative total where the previous was 0); stable otherwise.
 */
export function trendOf(current: number, previous: number): Trend {
  const g = growthRate(current, previous)
  if (g === null) return current > 0 ? 'increasing' : current < 0 ? 'decreasing' : 'stable'
  if (g > TREND_THRESHOLD) return 'increasing'
  if (g < -TREND_THRESHOLD) return 'decreasing'
  return 'stable'
}

/** `count` consecutive days ending with `last`, oldest first. */
export const dayRange = (last: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => addDays(last, i - count + 1))

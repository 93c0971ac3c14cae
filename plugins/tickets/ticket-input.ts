/** Validation of the free-form ticket inputs the schemas cannot check (docs/plugins/tickets.md#search-and-lists). */
import { validation } from '../../core/index.ts'

const MAX_CUSTOM_FIELDS_BYTES = 16_384

/** True for a real calendar day (JavaScript's Date would turn 2026-02-30 into March 2nd). */
const realDay = (y: number, m: number, d: number) => {
  const t = new Date(Date.UTC(y, m - 1, d))
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
}

/** A date or date-time value; `endOfDay` turns a bare date into the last instant of that day. */
export function parseInstant(field: string, value: string, endOfDay = false): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)
  const d = new Date(dateOnly ? `${value}T00:00:00.000Z` : value)
  if (!ymd || Number.isNaN(d.getTime()) || !realDay(Number(ymd[1]), Number(ymd[2]), Number(ymd[3]))) {
    throw validation(field, `${field} must be an ISO 8601 date or date-time`)
  }
  return dateOnly && endOfDay ? new Date(d.getTime() + 86_400_000 - 1) : d
}

export function cleanText(field: string, value: string): string {
  const s = value.trim()
  if (!s) throw validation(field, `${field} must not be blank`)
  return s
}

export function cleanTags(tags: string[]): string[] {
  const out: string[] = []
  for (const [i, raw] of tags.entries()) {
    const tag = raw.trim()
    if (!tag) throw validation(`tags.${i}`, 'A tag must not be blank')
    if (!out.includes(tag)) out.push(tag)
  }
  return out
}

export function checkCustomFields(value: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(value).length > 50) throw validation('custom_fields', 'custom_fields holds at most 50 keys')
  if (JSON.stringify(value).length > MAX_CUSTOM_FIELDS_BYTES) {
    throw validation('custom_fields', `custom_fields must serialise to at most ${MAX_CUSTOM_FIELDS_BYTES} bytes`)
  }
  return value
}

export const dateOrNull = (field: string, v: string | null) => (v === null ? null : parseInstant(field, v))

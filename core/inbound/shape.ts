/**
 * Shape checks of verified provider payloads (docs/webhooks.md#checked-by-shape), run before any
 * field is read: each reader returns the value when it has the type the applier reads, else
 * throws ShapeError naming the field (`data.object`, `record.updated_at`). `malformedOf` turns
 * the first one into the `malformed` of an inbound event: stored as rejected and answered 400,
 * never applied. Shared by every plugin that receives webhooks.
 */
import { createHash } from 'node:crypto'
import type { Malformed } from './types.ts'

export type Obj = Record<string, unknown>

export class ShapeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'ShapeError'
  }
}

export const fail = (field: string, expected: string): never => {
  throw new ShapeError(field, `must be ${expected}`)
}
export const absent = (v: unknown) => v === undefined || v === null

export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

export const object = (v: unknown, field: string): Obj => (isObject(v) ? v : fail(field, 'an object'))
export const optObject = (v: unknown, field: string): Obj | undefined => (absent(v) ? undefined : object(v, field))
export const string = (v: unknown, field: string): string =>
  typeof v === 'string' && v !== '' ? v : fail(field, 'a non-empty string')
export const optString = (v: unknown, field: string): string | undefined =>
  absent(v) ? undefined : typeof v === 'string' ? v : fail(field, 'a string')
export const integer = (v: unknown, field: string): number =>
  Number.isSafeInteger(v) ? (v as number) : fail(field, 'an integer')
export const optInteger = (v: unknown, field: string): number | undefined => (absent(v) ? undefined : integer(v, field))
export const optBoolean = (v: unknown, field: string): boolean | undefined =>
  absent(v) ? undefined : typeof v === 'boolean' ? v : fail(field, 'a boolean')
export const optArray = (v: unknown, field: string): unknown[] | undefined =>
  absent(v) ? undefined : Array.isArray(v) ? v : fail(field, 'an array')
/** A timestamp in ISO 8601 (as PostgreSQL's JSON writes it), or absent. */
export const optTime = (v: unknown, field: string): string | undefined =>
  absent(v) ? undefined : typeof v === 'string' && !Number.isNaN(new Date(v).getTime()) ? v : fail(field, 'a timestamp')

/** The first bad field `check` finds, or undefined when the payload has the shape. */
export function malformedOf(check: () => unknown): Malformed | undefined {
  try {
    check()
    return undefined
  } catch (err) {
    if (err instanceof ShapeError) return { field: err.field, message: err.message }
    throw err
  }
}

/** The key of a delivery whose own id cannot be read: a digest of the exact body, so a redelivery finds the row. */
export const bodyDigest = (raw: string) => `sha256:${createHash('sha256').update(raw).digest('hex')}`

/** A verified body that is not JSON, kept bounded. */
export const rawPayload = (raw: string) => ({ body: raw.slice(0, 4096) })

/**
 * Shape checks of verified billing payloads: the core's readers (docs/webhooks.md#checked-by-shape)
 * plus Stripe's expandable references.
 */
import { shape } from '../../../core/index.ts'

export const {
  ShapeError,
  bodyDigest,
  integer,
  isObject,
  malformedOf,
  object,
  optArray,
  optBoolean,
  optInteger,
  optObject,
  optString,
  rawPayload,
  string,
} = shape
export type Obj = shape.Obj
export type Malformed = NonNullable<ReturnType<typeof shape.malformedOf>>

/** Stripe's expandable references: an id, or the object with its id. */
export const optRef = (v: unknown, field: string): string | undefined =>
  shape.absent(v)
    ? undefined
    : typeof v === 'string'
      ? v
      : isObject(v)
        ? string(v.id, `${field}.id`)
        : shape.fail(field, 'an id or an object with an id')

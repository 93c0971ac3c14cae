/** Supabase database webhooks on auth.users (docs/plugins/identity-webhooks.md): `Authorization: Bearer SUPABASE_WEBHOOK_SECRET`; INSERT, UPDATE, DELETE. */
import { createHash, timingSafeEqual } from 'node:crypto'
import { badRequest, shape, unauthenticated, type InboundEvent } from '../../core/index.ts'
import type { Delivery, DeliveryOf } from './deliveries.ts'

const { malformedOf, object, optObject, optString, optTime, string } = shape

interface AuthUser {
  id?: unknown
  email?: string | null
  raw_user_meta_data?: Record<string, unknown> | null
  updated_at?: string | null
  deleted_at?: string | null
}

interface SupabasePayload {
  type?: unknown
  table?: unknown
  schema?: unknown
  record?: AuthUser | null
  old_record?: AuthUser | null
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison of the bearer with the secret (both hashed, so lengths never leak). */
export function checkSupabaseBearer(authorization: string | null, secret: string) {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '')
  if (!match || !timingSafeEqual(digest(match[1]!.trim()), digest(secret)))
    throw unauthenticated('Invalid webhook secret')
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null)
const time = (v: unknown) => {
  const d = typeof v === 'string' ? new Date(v) : undefined
  return d && !Number.isNaN(d.getTime()) ? d : undefined
}

const UNPARSABLE = 'unparsable'
const isPayload = (v: unknown): v is SupabasePayload => typeof v === 'object' && v !== null && !Array.isArray(v)
const typeOf = (p: SupabasePayload) =>
  `${String(p.schema)}.${String(p.table)}.${typeof p.type === 'string' ? p.type : 'unknown'}`

const OPERATIONS = ['INSERT', 'UPDATE', 'DELETE']

/** The fields supabaseDelivery reads: type, schema, table and, for auth.users, the record's id, email, times and metadata. */
function checkPayload(p: unknown) {
  const o = object(p, 'body')
  const op = string(o.type, 'type')
  const schema = optString(o.schema, 'schema')
  const table = optString(o.table, 'table')
  const records = { record: optObject(o.record, 'record'), old_record: optObject(o.old_record, 'old_record') }
  if (schema !== 'auth' || table !== 'users' || !OPERATIONS.includes(op)) return
  const key = op === 'DELETE' ? 'old_record' : 'record'
  const r = object(records[key], key)
  string(r.id, `${key}.id`)
  optString(r.email, `${key}.email`)
  const deleted = optTime(r.deleted_at, `${key}.deleted_at`)
  const updated = optTime(r.updated_at, `${key}.updated_at`)
  if (op !== 'DELETE' && !deleted && !updated) string(r.updated_at, `${key}.updated_at`)
  const meta = optObject(r.raw_user_meta_data, `${key}.raw_user_meta_data`)
  if (meta)
    for (const k of ['full_name', 'name', 'avatar_url', 'picture']) optString(meta[k], `${key}.raw_user_meta_data.${k}`)
}

/**
 * The verified body as the inbound pipeline stores it; its id is a SHA-256 of the raw body
 * (Supabase sends none). `malformed` (stored as rejected, answered 400) when it has not the shape
 * supabaseDelivery reads.
 */
export function supabaseEvent(raw: string): InboundEvent {
  const id = createHash('sha256').update(raw).digest('hex')
  let payload: unknown
  try {
    payload = JSON.parse(raw)
  } catch {
    // Not JSON: kept (bounded) as the body, type `unparsable`, so the rejection is listed and counted.
    return {
      provider: 'supabase',
      eventId: id,
      type: UNPARSABLE,
      payload: { body: raw.slice(0, 4096) },
      malformed: { field: 'body', message: 'must be JSON' },
    }
  }
  const malformed = malformedOf(() => checkPayload(payload))
  if (!isPayload(payload)) return { provider: 'supabase', eventId: id, type: UNPARSABLE, payload, malformed }
  const record = isPayload(payload.record)
    ? payload.record
    : isPayload(payload.old_record)
      ? payload.old_record
      : undefined
  return {
    provider: 'supabase',
    eventId: id,
    type: typeOf(payload),
    subject: typeof record?.id === 'string' ? record.id : null,
    payload,
    ...(malformed ? { malformed } : {}),
  }
}

/** The delivery of a stored Supabase event; a DELETE without deleted_at happened when it was received. */
export const supabaseDeliveryOf: DeliveryOf = (row) => {
  if (row.type === UNPARSABLE) throw badRequest('Malformed JSON body', { provider: 'supabase', field: 'body' })
  return supabaseDelivery(row.event_id, row.payload, row.received_at)
}

/** The delivery to store and apply; throws badRequest for a payload that cannot be used. */
export function supabaseDelivery(id: string, body: unknown, receivedAt = new Date()): Delivery {
  if (!isPayload(body)) throw badRequest('Expected a database webhook payload')
  const payload = body
  const op = typeof payload.type === 'string' ? payload.type : 'unknown'
  const type = typeOf(payload)
  if (payload.schema !== 'auth' || payload.table !== 'users' || !['INSERT', 'UPDATE', 'DELETE'].includes(op)) {
    return { provider: 'supabase', id, type }
  }
  const record = op === 'DELETE' ? payload.old_record : payload.record
  if (!record || typeof record.id !== 'string' || !record.id) throw badRequest(`${op} without the user's id`)
  // A deletion is the user's last change whatever its record says; soft deletes count as deletions.
  if (op === 'DELETE' || record.deleted_at) {
    return {
      provider: 'supabase',
      id,
      type,
      change: { id: record.id, deleted: true, changedAt: time(record.deleted_at) ?? receivedAt },
    }
  }
  const meta = record.raw_user_meta_data ?? {}
  const email = text(record.email)
  const name = text(meta.full_name) ?? text(meta.name)
  const avatar = text(meta.avatar_url) ?? text(meta.picture)
  const changedAt = time(record.updated_at)
  if (!changedAt) throw badRequest(`${op} without a valid updated_at`)
  return {
    provider: 'supabase',
    id,
    type,
    change: { id: record.id, email, full_name: name, avatar_url: avatar, changedAt },
    provision: { sub: record.id, email, name, avatar_url: avatar },
  }
}

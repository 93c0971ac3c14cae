/** Clerk webhooks (docs/plugins/identity-webhooks.md): svix-signed over the raw body; user.created, user.updated, user.deleted. */
import { Webhook } from 'svix'
import { badRequest, shape, unauthenticated, type InboundEvent } from '../../core/index.ts'
import type { Delivery, DeliveryOf } from './deliveries.ts'

const { isObject, malformedOf, object, optArray, optBoolean, optInteger, optString, string } = shape

interface ClerkEmail {
  id?: string
  email_address?: string
}

interface ClerkUser {
  id?: unknown
  deleted?: boolean
  email_addresses?: ClerkEmail[]
  primary_email_address_id?: string | null
  first_name?: string | null
  last_name?: string | null
  username?: string | null
  image_url?: string | null
  profile_image_url?: string | null
  updated_at?: number
}

interface ClerkEvent {
  type?: unknown
  data?: ClerkUser
  timestamp?: number
}

/** Builds the verifier; a malformed secret fails the start with the variable's name. */
export function clerkVerifier(secret: string) {
  try {
    return new Webhook(secret)
  } catch {
    throw new Error(
      'Invalid CLERK_WEBHOOK_SECRET: expected the svix signing secret from the Clerk dashboard (whsec_...)',
    )
  }
}

/**
 * Verifies the svix signature (and its 5-minute timestamp tolerance) over the raw body; 400 or 401
 * on failure. The body's shape is checked by clerkEvent; one that is not JSON is kept bounded (`json: false`).
 */
export function verifyClerk(
  webhook: Webhook,
  raw: string,
  headers: Headers,
): { id: string; event: unknown; sentAt: number; json: boolean } {
  const id = headers.get('svix-id')
  const timestamp = headers.get('svix-timestamp')
  const signature = headers.get('svix-signature')
  if (!id || !timestamp || !signature) throw badRequest('Missing svix-id, svix-timestamp or svix-signature header')
  try {
    webhook.verify(raw, { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': signature })
  } catch {
    throw unauthenticated('Invalid webhook signature')
  }
  try {
    return { id, event: JSON.parse(raw), sentAt: Number(timestamp) * 1000, json: true }
  } catch {
    return { id, event: { body: raw.slice(0, 4096) }, sentAt: Number(timestamp) * 1000, json: false }
  }
}

const USER_TYPES = new Set(['user.created', 'user.updated', 'user.deleted'])

/** The fields clerkDelivery reads: type, timestamp and, for user events, data.id and the profile. */
function checkClerkEvent(e: unknown) {
  const o = object(e, 'body')
  const type = string(o.type, 'type')
  optInteger(o.timestamp, 'timestamp')
  if (!USER_TYPES.has(type)) return
  const data = object(o.data, 'data')
  string(data.id, 'data.id')
  if (type === 'user.deleted') return optBoolean(data.deleted, 'data.deleted')
  const emails = optArray(data.email_addresses, 'data.email_addresses') ?? []
  emails.forEach((v, i) => {
    const email = object(v, `data.email_addresses[${i}]`)
    optString(email.id, `data.email_addresses[${i}].id`)
    optString(email.email_address, `data.email_addresses[${i}].email_address`)
  })
  for (const k of ['primary_email_address_id', 'first_name', 'last_name', 'username', 'image_url', 'profile_image_url'])
    optString(data[k], `data.${k}`)
  optInteger(data.updated_at, 'data.updated_at')
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null)

/**
 * The verified event as the inbound pipeline stores it: svix-id, type, the event's time, the Clerk
 * user id; `malformed` (stored as rejected, answered 400) when it has not the shape clerkDelivery reads.
 */
export function clerkEvent(id: string, body: unknown, sentAt: number, json = true): InboundEvent {
  const malformed = json ? malformedOf(() => checkClerkEvent(body)) : { field: 'body', message: 'must be JSON' }
  const event = (isObject(body) && json ? body : {}) as ClerkEvent
  const data = isObject(event.data) ? event.data : {}
  return {
    provider: 'clerk',
    eventId: id,
    type: typeof event.type === 'string' && event.type ? event.type : 'unknown',
    occurredAt: new Date(
      typeof event.timestamp === 'number' && Number.isFinite(event.timestamp) ? event.timestamp : sentAt,
    ),
    subject: typeof data.id === 'string' ? data.id : null,
    payload: body,
    ...(malformed ? { malformed } : {}),
  }
}

/** The delivery of a stored Clerk event (its occurred_at is the event's time, else the svix timestamp). */
export const clerkDeliveryOf: DeliveryOf = (row) =>
  clerkDelivery(row.event_id, row.payload as ClerkEvent, (row.occurred_at ?? row.received_at).getTime())

/** The delivery to store and apply; throws badRequest for a signed payload that cannot be used. */
export function clerkDelivery(id: string, event: ClerkEvent, sentAt: number): Delivery {
  const type = typeof event.type === 'string' ? event.type : 'unknown'
  if (type !== 'user.created' && type !== 'user.updated' && type !== 'user.deleted')
    return { provider: 'clerk', id, type }
  const data = event.data
  if (!data || typeof data.id !== 'string' || !data.id) throw badRequest('Clerk event without data.id')
  const eventTime = typeof event.timestamp === 'number' ? event.timestamp : sentAt
  if (type === 'user.deleted') {
    return { provider: 'clerk', id, type, change: { id: data.id, deleted: true, changedAt: new Date(eventTime) } }
  }
  const emails = data.email_addresses ?? []
  const primary = emails.find((e) => e.id === data.primary_email_address_id) ?? emails[0]
  const email = text(primary?.email_address)
  const name = [text(data.first_name), text(data.last_name)].filter(Boolean).join(' ') || text(data.username)
  const avatar = text(data.image_url) ?? text(data.profile_image_url)
  const changedAt = new Date(typeof data.updated_at === 'number' ? data.updated_at : eventTime)
  return {
    provider: 'clerk',
    id,
    type,
    change: { id: data.id, email, full_name: name, avatar_url: avatar, changedAt },
    provision: { sub: data.id, email, name, avatar_url: avatar },
  }
}

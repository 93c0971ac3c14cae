/**
 * Well-signed but malformed Clerk (svix's Webhook.sign) and Supabase (the bearer) deliveries: each
 * is 400 with details.provider and details.field, stored once as rejected (listed by the admin
 * with status=rejected), never applied, never 500; a redelivery is 400 again without a second row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'svix'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import admin from '../../admin/index.ts'
import users from '../../users/index.ts'
import identityWebhooks from '../index.ts'

const CLERK_SECRET = `whsec_${randomBytes(24).toString('base64')}`
const SUPABASE_SECRET = 'supabase-webhook-secret-0123456789'
const ROOT = { sub: 'u-root', email: 'root@corp.example' }
let t: TestApp
beforeAll(async () => {
  t = await testApp({
    plugins: [users, admin, identityWebhooks],
    env: {
      CLERK_WEBHOOK_SECRET: CLERK_SECRET,
      SUPABASE_WEBHOOK_SECRET: SUPABASE_SECRET,
      SUPERADMIN_EMAILS: 'root@corp.example',
    },
  })
})
afterAll(() => t?.close())

let n = 0
/** Signs `raw` (or the JSON of `payload`) with svix's own Webhook.sign, as Clerk's delivery does. */
function clerk(payload: unknown, o: { id?: string; raw?: string } = {}) {
  const id = o.id ?? `msg_bad_${++n}_${randomBytes(4).toString('hex')}`
  const at = new Date()
  const raw = o.raw ?? JSON.stringify(payload)
  return t
    .request('POST', '/api/v1/public/webhooks/clerk', {
      raw,
      headers: {
        'content-type': 'application/json',
        'svix-id': id,
        'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
        'svix-signature': new Webhook(CLERK_SECRET).sign(id, at, raw),
      },
    })
    .then((res) => ({ ...res, id }))
}
const supabase = (payload: unknown, raw?: string) =>
  t.request('POST', '/api/v1/public/webhooks/supabase', {
    raw: raw ?? JSON.stringify(payload),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SUPABASE_SECRET}` },
  })

const clerkUser = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  object: 'user',
  email_addresses: [{ id: 'idn_1', email_address: `${id}@example.org`, object: 'email_address' }],
  primary_email_address_id: 'idn_1',
  first_name: 'Ex',
  last_name: 'Ample',
  username: null,
  image_url: null,
  updated_at: Date.now(),
  ...extra,
})
const clerkEvent = (type: string, data: unknown) => ({
  data,
  object: 'event',
  type,
  timestamp: Date.now(),
  instance_id: 'ins_test',
})
const authUser = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  email: `${id.slice(0, 8)}@example.com`,
  raw_user_meta_data: { full_name: 'Supa Base' },
  updated_at: new Date().toISOString(),
  deleted_at: null,
  ...extra,
})
const hook = (type: string, record: unknown, old: unknown = null) => ({
  type,
  table: 'users',
  schema: 'auth',
  record,
  old_record: old,
})

const user = async (id: string) =>
  (await t.app.db.sql`select id, email, full_name, is_active from users where id = ${id}`)[0]
const count = async (provider: string) =>
  (await t.app.db.sql<{ c: number }[]>`select count(*)::int as c from inbound_events where provider = ${provider}`)[0]!
    .c
const stored = async (provider: string, eventId: string) => [
  ...(await t.app.db
    .sql`select status, user_id, attempts from inbound_events where provider = ${provider} and event_id = ${eventId}`),
]

async function expectRejected(res: { status: number; body: any }, provider: string, field: string) {
  expect(res.status).toBe(400)
  expect(res.body.error.code).toBe('BAD_REQUEST')
  expect(res.body.error.details).toEqual({ provider, field })
}

describe('clerk: malformed signed events', () => {
  it('a wrong type in a field the sync reads changes no user', async () => {
    expect((await clerk(clerkEvent('user.created', clerkUser('user_shape')))).body).toEqual({
      received: true,
      outcome: 'applied',
    })
    const before = await user('user_shape')
    expect(before).toMatchObject({ email: 'user_shape@example.org', full_name: 'Ex Ample', is_active: true })
    const cases: [unknown, string][] = [
      [
        clerkEvent('user.updated', clerkUser('user_shape', { email_addresses: 'mallory@evil.example' })),
        'data.email_addresses',
      ],
      [
        clerkEvent('user.updated', clerkUser('user_shape', { email_addresses: [{ id: 'idn_1', email_address: 5 }] })),
        'data.email_addresses[0].email_address',
      ],
      [clerkEvent('user.updated', clerkUser('user_shape', { first_name: { text: 'Mal' } })), 'data.first_name'],
      [clerkEvent('user.updated', clerkUser('user_shape', { updated_at: '2099-01-01' })), 'data.updated_at'],
      [clerkEvent('user.deleted', { id: 'user_shape', deleted: 'yes' }), 'data.deleted'],
      [clerkEvent('user.deleted', { id: 42, deleted: true }), 'data.id'],
      [{ ...clerkEvent('user.deleted', { id: 'user_shape', deleted: true }), timestamp: 'now' }, 'timestamp'],
      [{ ...clerkEvent('user.deleted', { id: 'user_shape', deleted: true }), type: 7 }, 'type'],
    ]
    for (const [payload, field] of cases) {
      const res = await clerk(payload)
      await expectRejected(res, 'clerk', field)
      expect(await stored('clerk', res.id)).toEqual([{ status: 'rejected', user_id: null, attempts: 1 }])
    }
    expect(await user('user_shape')).toEqual(before)
  })

  it('a missing required field is 400 and provisions nobody', async () => {
    const { id: _id, ...noId } = clerkUser('user_noid')
    await expectRejected(await clerk(clerkEvent('user.created', noId)), 'clerk', 'data.id')
    await expectRejected(await clerk(clerkEvent('user.created', undefined)), 'clerk', 'data')
    const { type: _type, ...noType } = clerkEvent('user.created', clerkUser('user_notype'))
    await expectRejected(await clerk(noType), 'clerk', 'type')
    expect(await user('user_notype')).toBeUndefined()
  })

  it('a non-object payload is 400; a redelivery is 400 again without a second row', async () => {
    for (const [raw, field] of [
      ['[1,2]', 'body'],
      ['null', 'body'],
      ['"user.created"', 'body'],
      ['not json', 'body'],
    ] as const) {
      const first = await clerk(undefined, { raw })
      await expectRejected(first, 'clerk', field)
      const before = await count('clerk')
      await expectRejected(await clerk(undefined, { raw, id: first.id }), 'clerk', field)
      expect(await count('clerk')).toBe(before)
      expect(await stored('clerk', first.id)).toEqual([{ status: 'rejected', user_id: null, attempts: 2 }])
    }
  })

  it('is listed by the admin with status=rejected, and cannot be replayed', async () => {
    const res = await clerk(clerkEvent('user.updated', clerkUser('user_listed', { last_name: 9 })))
    await expectRejected(res, 'clerk', 'data.last_name')
    const list = await t.as(ROOT).get('/api/v1/admin/webhooks/events?status=rejected&provider=clerk&limit=100')
    expect(list.status).toBe(200)
    const item = list.body.items.find((e: { event_id: string }) => e.event_id === res.id)
    expect(item).toMatchObject({ provider: 'clerk', type: 'user.updated', status: 'rejected' })
    expect(list.body.items.every((e: { status: string }) => e.status === 'rejected')).toBe(true)
    const replay = await t.as(ROOT).post(`/api/v1/admin/webhooks/events/${item.id}/replay`, {})
    expect(replay.status).toBe(409)
    expect(await user('user_listed')).toBeUndefined()
  })
})

describe('supabase: malformed deliveries with the right bearer', () => {
  const id = crypto.randomUUID()

  it('a wrong type in a field the sync reads changes no user', async () => {
    expect((await supabase(hook('INSERT', authUser(id)))).body).toEqual({ received: true, outcome: 'applied' })
    const before = await user(id)
    expect(before).toMatchObject({ full_name: 'Supa Base', is_active: true })
    const cases: [unknown, string][] = [
      [hook('UPDATE', authUser(id, { email: ['x@evil.example'] })), 'record.email'],
      [hook('UPDATE', authUser(id, { raw_user_meta_data: 'Mallory' })), 'record.raw_user_meta_data'],
      [hook('UPDATE', authUser(id, { raw_user_meta_data: { full_name: 5 } })), 'record.raw_user_meta_data.full_name'],
      [hook('UPDATE', authUser(id, { updated_at: 'yesterday' })), 'record.updated_at'],
      [hook('UPDATE', authUser(id, { deleted_at: 17 })), 'record.deleted_at'],
      [hook('DELETE', null, { ...authUser(id), id: 12 }), 'old_record.id'],
      [{ ...hook('UPDATE', authUser(id)), type: 3 }, 'type'],
      [{ ...hook('UPDATE', authUser(id)), old_record: 'prev' }, 'old_record'],
    ]
    for (const [payload, field] of cases) await expectRejected(await supabase(payload), 'supabase', field)
    expect(await user(id)).toEqual(before)
  })

  it('a missing required field is 400', async () => {
    const { id: _id, ...noId } = authUser(id)
    await expectRejected(await supabase(hook('INSERT', noId)), 'supabase', 'record.id')
    const { updated_at: _u, ...noTime } = authUser(id)
    await expectRejected(await supabase(hook('UPDATE', noTime)), 'supabase', 'record.updated_at')
    await expectRejected(await supabase(hook('DELETE', null, null)), 'supabase', 'old_record')
    expect(await user(id)).toMatchObject({ is_active: true })
  })

  it('a non-object payload is 400, stored once as rejected under the digest of its body', async () => {
    for (const raw of ['[1]', 'null', '42', '{"type": "INSERT",']) {
      await expectRejected(await supabase(undefined, raw), 'supabase', 'body')
      const before = await count('supabase')
      await expectRejected(await supabase(undefined, raw), 'supabase', 'body')
      expect(await count('supabase')).toBe(before)
    }
    const rows = await t.app.db
      .sql`select status, attempts from inbound_events where provider = 'supabase' and status = 'rejected' and attempts = 2`
    expect(rows.length).toBe(4)
  })
})

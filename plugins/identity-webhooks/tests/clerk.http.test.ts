/** Clerk webhooks signed with svix's own Webhook.sign: applied, ordered, deduplicated, refused when forged. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'svix'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import admin from '../../admin/index.ts'
import users from '../../users/index.ts'
import identityWebhooks from '../index.ts'

const SECRET = `whsec_${randomBytes(24).toString('base64')}`
let t: TestApp
beforeAll(async () => {
  t = await testApp({
    plugins: [users, admin, identityWebhooks],
    env: { CLERK_WEBHOOK_SECRET: SECRET, ADMIN_EMAILS: 'lead@corp.example', SUPERADMIN_EMAILS: 'root@corp.example' },
  })
})
afterAll(() => t?.close())

let n = 0
const clerkUser = (id: string, updatedAt: number, extra: Record<string, unknown> = {}) => ({
  id,
  object: 'user',
  email_addresses: [
    { id: 'idn_secondary', email_address: `old-${id}@example.org`, object: 'email_address' },
    { id: 'idn_primary', email_address: `${id}@example.org`, object: 'email_address' },
  ],
  primary_email_address_id: 'idn_primary',
  first_name: 'Example',
  last_name: 'Person',
  username: null,
  image_url: 'https://img.clerk.com/avatar.png',
  profile_image_url: 'https://www.gravatar.com/avatar?d=mp',
  created_at: updatedAt - 1000,
  updated_at: updatedAt,
  ...extra,
})
const event = (type: string, data: Record<string, unknown>, timestamp = Date.now()) => ({
  data,
  object: 'event',
  type,
  timestamp,
  instance_id: 'ins_test',
})

interface SendOptions {
  id?: string
  at?: Date
  secret?: string
  tamper?: (raw: string) => string
  version?: string
}

/** Signs with svix's own Webhook.sign, as Clerk's svix delivery does. */
function send(payload: unknown, o: SendOptions = {}) {
  const id = o.id ?? `msg_${++n}_${randomBytes(4).toString('hex')}`
  const at = o.at ?? new Date()
  const raw = JSON.stringify(payload)
  const signature = new Webhook(o.secret ?? SECRET).sign(id, at, raw)
  return t.request('POST', `/api/${o.version ?? 'v1'}/public/webhooks/clerk`, {
    raw: o.tamper ? o.tamper(raw) : raw,
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': signature,
    },
  })
}

const row = async (id: string) => (await t.app.db.sql`select * from users where id = ${id}`)[0]
const events = async (provider = 'clerk') => t.app.db.sql`select * from inbound_events where provider = ${provider}`

describe('accepted deliveries', () => {
  it('creates the user from user.created, with the email lists applied', async () => {
    const res = await send(event('user.created', clerkUser('user_created1', 1_700_000_000_000)))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, outcome: 'applied' })
    expect(await row('user_created1')).toMatchObject({
      email: 'user_created1@example.org',
      full_name: 'Example Person',
      avatar_url: 'https://img.clerk.com/avatar.png',
      role: 'user',
      is_active: true,
    })
    const lead = await send(
      event(
        'user.created',
        clerkUser('user_lead', 1_700_000_000_000, {
          email_addresses: [{ id: 'idn_primary', email_address: 'Lead@corp.example' }],
        }),
      ),
    )
    expect(lead.body.outcome).toBe('applied')
    expect((await row('user_lead'))!.role).toBe('admin')
  })

  it('applies a newer user.updated and ignores an older one', async () => {
    await send(event('user.created', clerkUser('user_upd', 1_700_000_000_000)))
    const newer = await send(
      event('user.updated', clerkUser('user_upd', 1_700_000_500_000, { first_name: 'Newer', image_url: null })),
    )
    expect(newer.body.outcome).toBe('applied')
    expect(await row('user_upd')).toMatchObject({
      full_name: 'Newer Person',
      avatar_url: 'https://www.gravatar.com/avatar?d=mp',
    })
    const older = await send(event('user.updated', clerkUser('user_upd', 1_700_000_200_000, { first_name: 'Older' })))
    expect(older.status).toBe(200)
    expect(older.body.outcome).toBe('stale')
    expect((await row('user_upd'))!.full_name).toBe('Newer Person')
  })

  it('applies a redelivery once', async () => {
    const id = 'msg_redelivered'
    const payload = event('user.created', clerkUser('user_redeliv', 1_700_000_000_000))
    expect((await send(payload, { id })).body.outcome).toBe('applied')
    // The user edits their name here; the same delivery arriving again must not overwrite it.
    await t.as('user_redeliv').patch('/api/v1/app/users/me', { full_name: 'Edited Locally' })
    const again = await send(payload, { id })
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ received: true, outcome: 'duplicate' })
    expect((await row('user_redeliv'))!.full_name).toBe('Edited Locally')
    expect((await events()).filter((e) => e.event_id === id).length).toBe(1)
  })

  it('deactivates and anonymises on user.deleted; later stale updates do not revive it', async () => {
    await send(event('user.created', clerkUser('user_gone', 1_700_000_000_000)))
    expect((await t.as('user_gone').get('/api/v1/app/users/me')).status).toBe(200)
    const res = await send(event('user.deleted', { id: 'user_gone', object: 'user', deleted: true }, 1_700_000_900_000))
    expect(res.body.outcome).toBe('applied')
    expect(await row('user_gone')).toMatchObject({ is_active: false, email: null, full_name: null, avatar_url: null })
    expect((await row('user_gone'))!.deleted_at).toBeInstanceOf(Date)
    expect((await t.as('user_gone').get('/api/v1/app/users/me')).status).toBe(403)
    const [entry] = await t.app.db
      .sql`select * from audit_logs where action = 'user.delete' and resource_id = 'user_gone'`
    expect(entry).toMatchObject({
      actor_id: null,
      ip_address: '127.0.0.1',
      details: { provider: 'clerk', anonymised: true },
    })
    expect(entry!.request_id).toBeTruthy()
    const late = await send(event('user.updated', clerkUser('user_gone', 1_700_000_800_000)))
    expect(late.body.outcome).toBe('stale')
    expect(await row('user_gone')).toMatchObject({ is_active: false, email: null })
  })

  it('acknowledges other event types without applying them, and answers v2 enveloped', async () => {
    const res = await send(event('session.created', { id: 'sess_1', user_id: 'user_created1' }))
    expect(res.body).toEqual({ received: true, outcome: 'ignored' })
    const v2 = await send(event('email.created', { id: 'ema_1' }), { version: 'v2' })
    expect(v2.body.data).toEqual({ received: true, outcome: 'ignored' })
    expect(v2.body.meta.version).toBe('v2')
  })
})

describe('refused deliveries change nothing', () => {
  const refused = async (res: Awaited<ReturnType<typeof send>>, status: number, user: string) => {
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(status === 401 ? 'AUTHENTICATION_ERROR' : 'BAD_REQUEST')
    expect(await row(user)).toBeUndefined()
  }

  it('refuses a tampered body', async () => {
    const res = await send(event('user.created', clerkUser('user_tamper', Date.now())), {
      tamper: (raw) => raw.replace('Example', 'Evil'),
    })
    await refused(res, 401, 'user_tamper')
  })

  it('refuses another secret', async () => {
    const res = await send(event('user.created', clerkUser('user_wrong', Date.now())), {
      secret: `whsec_${randomBytes(24).toString('base64')}`,
    })
    await refused(res, 401, 'user_wrong')
  })

  it('refuses an old or future timestamp, even correctly signed', async () => {
    await refused(
      await send(event('user.created', clerkUser('user_old', Date.now())), { at: new Date(Date.now() - 10 * 60_000) }),
      401,
      'user_old',
    )
    await refused(
      await send(event('user.created', clerkUser('user_future', Date.now())), {
        at: new Date(Date.now() + 10 * 60_000),
      }),
      401,
      'user_future',
    )
  })

  it('refuses missing headers with 400', async () => {
    const res = await t.request('POST', '/api/v1/public/webhooks/clerk', {
      raw: JSON.stringify(event('user.created', clerkUser('user_noheaders', Date.now()))),
      headers: { 'content-type': 'application/json' },
    })
    await refused(res, 400, 'user_noheaders')
    const ids = (await events()).map((e) => e.event_id)
    expect(ids.some((id) => id.includes('tamper') || id === '')).toBe(false)
  })

  it('stores a signed but unusable payload as rejected (counted, not failed), answered 400', async () => {
    const before = (await t.as({ sub: 'u-root', email: 'root@corp.example' }).get('/api/v1/admin/dashboard/stats')).body
      .webhooks
    const res = await send(event('user.updated', { object: 'user' }), { id: 'msg_unusable' })
    expect(res.status).toBe(400)
    expect(res.body.error.details).toEqual({ provider: 'clerk', field: 'data.id' })
    const after = (await t.as({ sub: 'u-root', email: 'root@corp.example' }).get('/api/v1/admin/dashboard/stats')).body
      .webhooks
    // Rejected is not failed: nothing will be retried.
    expect(after).toEqual({ total: before.total + 1, failed: before.failed, pending: 0 })
    const [stored] = await t.app.db
      .sql`select status from inbound_events where provider = 'clerk' and event_id = 'msg_unusable'`
    expect(stored).toEqual({ status: 'rejected' })
  })
})

describe('without CLERK_WEBHOOK_SECRET', () => {
  it('answers 503 SERVICE_UNAVAILABLE', async () => {
    const bare = await testApp({ plugins: [users, admin, identityWebhooks] })
    try {
      const signed = {
        'svix-id': 'msg_1',
        'svix-timestamp': String(Math.floor(Date.now() / 1000)),
        'svix-signature': 'v1,abc',
      }
      const res = await bare.post(
        '/api/v1/public/webhooks/clerk',
        event('user.created', clerkUser('user_x', Date.now())),
        { headers: signed },
      )
      expect(res.status).toBe(503)
      expect(res.body.error).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { missing: 'CLERK_WEBHOOK_SECRET' },
      })
      const supa = await bare.post(
        '/api/v1/public/webhooks/supabase',
        {},
        { headers: { authorization: 'Bearer anything-at-all' } },
      )
      expect(supa.status).toBe(503)
      expect(supa.body.error.details.missing).toBe('SUPABASE_WEBHOOK_SECRET')
      // Whatever the request: nothing can be verified without the secret.
      expect((await bare.post('/api/v1/public/webhooks/clerk', {})).status).toBe(503)
      expect((await bare.post('/api/v1/public/webhooks/supabase', {})).status).toBe(503)
      expect((await bare.app.db.sql`select id from users where id = 'user_x'`).length).toBe(0)
    } finally {
      await bare.close()
    }
  })

  it('refuses to start with a malformed secret', async () => {
    expect(
      testApp({ plugins: [users, admin, identityWebhooks], env: { CLERK_WEBHOOK_SECRET: 'whsec_***not base64***' } }),
    ).rejects.toThrow(/CLERK_WEBHOOK_SECRET/)
  })
})

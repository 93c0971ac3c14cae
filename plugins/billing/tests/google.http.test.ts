/** Google Play notifications over Pub/Sub push with OIDC tokens from a local JWKS: accepted, forged ones refused, unknown purchases applied once linked. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { TestApp } from '../../../core/testing/index.ts'
import { developerNotification, pushBody, startFakeGoogle, type FakeGoogle } from './fakes/google-oidc.ts'
import { billingApp, countEvents } from './support.ts'

const AUDIENCE = 'https://api.example.com/api/v1/public/webhooks/google'
const ACCOUNT = 'pubsub@example-project.iam.gserviceaccount.com'
let google: FakeGoogle
let t: TestApp

beforeAll(async () => {
  google = await startFakeGoogle()
  t = await billingApp({
    GOOGLE_PACKAGE_NAME: 'com.example.app',
    GOOGLE_PUBSUB_AUDIENCE: AUDIENCE,
    GOOGLE_PUBSUB_SERVICE_ACCOUNT: ACCOUNT,
    GOOGLE_OIDC_JWKS_URL: google.jwksUrl,
  })
})
afterAll(async () => {
  await t?.close()
  google?.close()
})

const push = async (body: unknown, token?: string | null) =>
  t.request('POST', '/api/v1/public/webhooks/google', {
    body,
    headers: token === null ? {} : { authorization: `Bearer ${token ?? (await google.token())}` },
  })
const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body
const link = (user: string, token: string, product = 'pro_monthly') =>
  t.as(user).post('/api/v1/app/billing/mobile/link', { platform: 'google', purchase_token: token, product_id: product })

describe('google webhook', () => {
  it('accepts a push with a valid token and applies it to the linked purchase', async () => {
    expect((await link('alice', 'token-alice')).body).toMatchObject({
      linked: true,
      platform: 'google',
      applied_events: 0,
      has_active_subscription: false,
    })
    const body = pushBody(developerNotification({ type: 4, token: 'token-alice' }))
    const res = await push(body)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect(await status('alice')).toMatchObject({
      plan: 'pro',
      status: 'active',
      has_active_subscription: true,
      source: 'google',
    })
    const [row] = await t.app.db
      .sql`select provider, event_id, type, user_id from inbound_events where event_id = ${body.message.messageId}`
    expect(row).toEqual({
      provider: 'google',
      event_id: body.message.messageId,
      type: 'SUBSCRIPTION_PURCHASED',
      user_id: 'alice',
    })
    // Pub/Sub redelivers with the same messageId.
    expect((await push(body)).body).toEqual({ received: true, duplicate: true, status: 'applied' })
  })

  it('handles cancel and expiry in event-time order', async () => {
    await link('bob', 'token-bob')
    const t0 = Date.now() - 10_000
    await push(pushBody(developerNotification({ type: 4, token: 'token-bob', eventTimeMillis: t0 })))
    expect(
      (await push(pushBody(developerNotification({ type: 3, token: 'token-bob', eventTimeMillis: t0 + 2000 })))).body
        .status,
    ).toBe('applied')
    expect(await status('bob')).toMatchObject({ status: 'active', cancel_at_period_end: true })
    // A renewal notification older than the cancellation, delivered late.
    expect(
      (await push(pushBody(developerNotification({ type: 2, token: 'token-bob', eventTimeMillis: t0 + 1000 })))).body
        .status,
    ).toBe('ignored')
    expect((await status('bob')).cancel_at_period_end).toBe(true)
    expect(
      (await push(pushBody(developerNotification({ type: 13, token: 'token-bob', eventTimeMillis: t0 + 3000 })))).body
        .status,
    ).toBe('applied')
    expect(await status('bob')).toMatchObject({ plan: 'free', status: 'expired', has_active_subscription: false })
  })

  it('rejects a wrong audience, a wrong email, an unverified email, a bad signature, a wrong issuer and no token, storing nothing', async () => {
    const before = await countEvents(t, 'google')
    const body = () => pushBody(developerNotification({ type: 4, token: 'token-x' }))
    const tokens = [
      await google.token({ aud: 'https://other.example.com/push' }),
      await google.token({ email: 'attacker@evil-project.iam.gserviceaccount.com' }),
      await google.token({ email_verified: false }),
      await google.token({ key: 'other' }),
      await google.token({ iss: 'https://evil.example.com' }),
      'not-a-jwt',
    ]
    for (const token of tokens) {
      const res = await push(body(), token)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('AUTHENTICATION_ERROR')
    }
    expect((await push(body(), null)).status).toBe(401)
    expect(await countEvents(t, 'google')).toBe(before)
  })

  it('answers 400 for base64 garbage and malformed pushes, storing each once as rejected', async () => {
    const before = await countEvents(t, 'google')
    const bodies: [unknown, string][] = [
      [{ message: { data: '!!!not base64!!!', messageId: '1' } }, 'message.data'],
      [{ message: { data: Buffer.from('not json').toString('base64'), messageId: '2' } }, 'message.data'],
      [{ message: { data: Buffer.from('{"x":1}').toString('base64'), messageId: '3' } }, 'message.data.packageName'],
      [
        { message: { data: pushBody(developerNotification({ type: 4, token: 't' })).message.data } },
        'message.messageId',
      ],
      [{ nothing: true }, 'message'],
    ]
    for (const [body, field] of bodies) {
      const res = await push(body)
      expect(res.status).toBe(400)
      expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', details: { provider: 'google', field } })
    }
    const raw = await t.request('POST', '/api/v1/public/webhooks/google', {
      raw: '{"message":',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await google.token()}` },
    })
    expect(raw.status).toBe(400)
    expect(raw.body.error.details).toEqual({ provider: 'google', field: 'body' })
    expect(await countEvents(t, 'google')).toBe(before + 6)
    const statuses = await t.app.db
      .sql`select distinct status from inbound_events where provider = 'google' and status = 'rejected'`
    expect(statuses.length).toBe(1)
    // Delivered again: 400 again, no second row.
    expect((await push(bodies[0]![0])).status).toBe(400)
    expect(await countEvents(t, 'google')).toBe(before + 6)
  })

  it('refuses a notification of another package (400), storing nothing', async () => {
    const before = await countEvents(t, 'google')
    const res = await push(pushBody(developerNotification({ type: 4, token: 't', packageName: 'com.other.app' })))
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
    expect(await countEvents(t, 'google')).toBe(before)
  })

  it('stores a notification for an unknown purchase and applies it after the link call', async () => {
    const res = await push(pushBody(developerNotification({ type: 4, token: 'token-carol' })))
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'unmatched' })
    expect((await status('carol')).has_active_subscription).toBe(false)
    const linked = await link('carol', 'token-carol')
    expect(linked.status).toBe(200)
    expect(linked.body).toMatchObject({
      linked: true,
      platform: 'google',
      applied_events: 1,
      plan: 'pro',
      has_active_subscription: true,
    })
    expect(await status('carol')).toMatchObject({ plan: 'pro', status: 'active', source: 'google' })
    // Linking again is harmless; someone else linking the same purchase is 409.
    expect((await link('carol', 'token-carol')).body.applied_events).toBe(0)
    expect((await link('mallory', 'token-carol')).status).toBe(409)
  })

  it('stores test notifications as ignored', async () => {
    const res = await push(
      pushBody({
        version: '1.0',
        packageName: 'com.example.app',
        eventTimeMillis: String(Date.now()),
        testNotification: { version: '1.0' },
      }),
    )
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'ignored' })
  })
})

describe('google webhook configuration', () => {
  it('answers 503 without GOOGLE_PACKAGE_NAME', async () => {
    const bare = await billingApp({})
    try {
      const res = await bare.request('POST', '/api/v1/public/webhooks/google', {
        body: pushBody(developerNotification({ type: 4, token: 'x' })),
      })
      expect(res.status).toBe(503)
      expect(
        (
          await bare
            .as('u')
            .post('/api/v1/app/billing/mobile/link', { platform: 'google', purchase_token: 'x', product_id: 'y' })
        ).status,
      ).toBe(503)
    } finally {
      await bare.close()
    }
  })

  it('accepts pushes without a token when GOOGLE_PUBSUB_AUDIENCE is unset', async () => {
    const open = await billingApp({ GOOGLE_PACKAGE_NAME: 'com.example.app' })
    try {
      const res = await open.request('POST', '/api/v1/public/webhooks/google', {
        body: pushBody(developerNotification({ type: 4, token: 'x' })),
      })
      expect(res.status).toBe(200)
    } finally {
      await open.close()
    }
  })
})

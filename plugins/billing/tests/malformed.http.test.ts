/**
 * Well-signed but malformed provider payloads (Stripe via the SDK's test header, Apple via the
 * local CA, Google via the local JWKS): each is 400 with details.provider and details.field,
 * stored once as rejected, never applied, never 500; a redelivery is 400 again without a second row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestApp } from '../../../core/testing/index.ts'
import { appleNotification, createCa, signJws, type AppleChain } from './fakes/apple-ca.ts'
import { developerNotification, pushBody, startFakeGoogle, type FakeGoogle } from './fakes/google-oidc.ts'
import { billingApp, countEvents, postStripe, provision, stripeEnv, stripeEvent } from './support.ts'

const AUDIENCE = 'https://api.example.com/api/v1/public/webhooks/google'
const DAY = 86_400_000
let t: TestApp
let ca: ReturnType<typeof createCa>
let chain: AppleChain
let google: FakeGoogle

beforeAll(async () => {
  ca = createCa()
  chain = ca.chain()
  const rootFile = join(ca.dir, 'trusted-root.pem')
  writeFileSync(rootFile, chain.root.pem)
  google = await startFakeGoogle()
  t = await billingApp({
    ...stripeEnv(),
    STRIPE_API_BASE: 'http://127.0.0.1:9',
    APPLE_BUNDLE_ID: 'com.example.app',
    APPLE_ROOT_CA_PEM: rootFile,
    GOOGLE_PACKAGE_NAME: 'com.example.app',
    GOOGLE_PUBSUB_AUDIENCE: AUDIENCE,
    GOOGLE_OIDC_JWKS_URL: google.jwksUrl,
  })
})
afterAll(async () => {
  await t?.close()
  ca?.close()
  google?.close()
})

const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body
const stored = async (provider: string, eventId: string) =>
  t.app.db.sql<{ status: string; attempts: number; error: string; user_id: string | null }[]>`
    select status, attempts, error, user_id from inbound_events where provider = ${provider} and event_id = ${eventId}`

/** 400 BAD_REQUEST naming provider and field, one row stored as rejected (not applied to anyone). */
async function expectRejected(res: { status: number; body: any }, provider: string, field: string, eventId?: string) {
  expect(res.status).toBe(400)
  expect(res.body.error.code).toBe('BAD_REQUEST')
  expect(res.body.error.details).toEqual({ provider, field })
  if (eventId) {
    const rows = await stored(provider, eventId)
    expect(rows.length).toBe(1)
    expect(rows[0]).toMatchObject({ status: 'rejected', user_id: null })
    expect(rows[0]!.error).toContain(field)
  }
}

let n = 0
function subscription(user: string, o: Record<string, unknown> = {}) {
  return {
    id: `sub_malformed_${++n}`,
    object: 'subscription',
    customer: `cus_${user}`,
    status: 'active',
    livemode: false,
    cancel_at_period_end: false,
    cancel_at: null,
    metadata: { user_id: user },
    items: {
      object: 'list',
      data: [
        {
          id: `si_${n}`,
          object: 'subscription_item',
          price: { id: 'price_monthly_test', object: 'price', product: 'prod_1' },
          current_period_end: Math.floor(Date.now() / 1000) + 30 * 86400,
        },
      ],
    },
    ...o,
  }
}

describe('stripe: malformed signed events', () => {
  it('data.object null is 400 (not a TypeError), stored rejected once, a redelivery adds no row', async () => {
    const event = { ...stripeEvent('customer.subscription.updated', {}), data: { object: null } }
    await expectRejected(await postStripe(t, event), 'stripe', 'data.object', event.id)
    const before = await countEvents(t, 'stripe')
    const again = await postStripe(t, event)
    await expectRejected(again, 'stripe', 'data.object', event.id)
    expect(await countEvents(t, 'stripe')).toBe(before)
    expect((await stored('stripe', event.id))[0]!.attempts).toBe(2)
  })

  it('a wrong type in a field the applier reads changes no subscription', async () => {
    await provision(t, 'sam')
    const sub = subscription('sam')
    expect((await postStripe(t, stripeEvent('customer.subscription.created', sub))).body.status).toBe('applied')
    expect(await status('sam')).toMatchObject({ status: 'active', has_active_subscription: true })
    const cases: [string, Record<string, unknown>, string][] = [
      ['customer.subscription.deleted', { ...sub, status: 5 }, 'data.object.status'],
      ['customer.subscription.updated', { ...sub, status: 'canceled', items: { data: 'x' } }, 'data.object.items.data'],
      [
        'customer.subscription.updated',
        { ...sub, status: 'canceled', items: { data: [{ price: { id: 7 } }] } },
        'data.object.items.data[0].price.id',
      ],
      ['customer.subscription.updated', { ...sub, status: 'canceled', customer: 42 }, 'data.object.customer'],
      ['customer.subscription.updated', { ...sub, status: 'canceled', metadata: 'sam' }, 'data.object.metadata'],
      ['invoice.payment_failed', { id: 'in_1', subscription: sub.id, lines: { data: {} } }, 'data.object.lines.data'],
      [
        'invoice.paid',
        { id: 'in_2', subscription: sub.id, lines: { data: [{ period: { end: 'soon' } }] } },
        'data.object.lines.data[0].period.end',
      ],
      [
        'checkout.session.completed',
        { id: 'cs_1', mode: 'subscription', customer: { id: 3 } },
        'data.object.customer.id',
      ],
    ]
    for (const [type, object, field] of cases) {
      const event = stripeEvent(type, object)
      await expectRejected(await postStripe(t, event), 'stripe', field, event.id)
    }
    expect(await status('sam')).toMatchObject({
      status: 'active',
      has_active_subscription: true,
      cancel_at_period_end: false,
    })
  })

  it('a missing required field is 400', async () => {
    const noCreated: Record<string, unknown> = stripeEvent('customer.subscription.updated', subscription('sam'))
    delete noCreated.created
    await expectRejected(await postStripe(t, noCreated), 'stripe', 'created', noCreated.id as string)
    const { status: _s, ...noStatus } = subscription('sam')
    const event = stripeEvent('customer.subscription.updated', noStatus)
    await expectRejected(await postStripe(t, event), 'stripe', 'data.object.status', event.id)
    const noType: Record<string, unknown> = stripeEvent('invoice.paid', { id: 'in_3' })
    delete noType.type
    await expectRejected(await postStripe(t, noType), 'stripe', 'type', noType.id as string)
    expect(await status('sam')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it('a non-object payload is 400, kept under a digest of its body', async () => {
    for (const payload of [[1, 2], null, 'evt', 5, { ...stripeEvent('invoice.paid', {}), data: [] }]) {
      const before = await countEvents(t, 'stripe')
      const res = await postStripe(t, payload)
      expect(res.status).toBe(400)
      expect(res.body.error.details.provider).toBe('stripe')
      expect(['body', 'data.object', 'data']).toContain(res.body.error.details.field)
      expect(await countEvents(t, 'stripe')).toBe(before + 1)
      // The same body again: 400, the same row.
      expect((await postStripe(t, payload)).status).toBe(400)
      expect(await countEvents(t, 'stripe')).toBe(before + 1)
    }
    const [row] = await t.app.db
      .sql`select event_id, status, payload from inbound_events where provider = 'stripe' and payload = ${t.app.db.sql.json([1, 2] as never)}`
    expect(row).toMatchObject({ status: 'rejected' })
    expect(row!.event_id).toMatch(/^sha256:[0-9a-f]{64}$/)
  })
})

describe('apple: malformed signed notifications', () => {
  const post = (body: unknown) => t.request('POST', '/api/v1/public/webhooks/apple', { body })
  const tokenOf = async (user: string) => (await status(user)).app_account_token as string
  const tx = (token: string, original: string, o: Record<string, unknown> = {}) => ({
    transactionId: `${original}-1`,
    originalTransactionId: original,
    productId: 'com.example.app.pro.monthly',
    purchaseDate: Date.now() - DAY,
    expiresDate: Date.now() + 30 * DAY,
    appAccountToken: token,
    ...o,
  })
  /** An outer notification signed by the local CA, shaped at will. */
  const outer = async (n: Record<string, unknown>) => {
    const uuid = randomUUID()
    const payload = {
      notificationType: 'DID_RENEW',
      notificationUUID: uuid,
      version: '2.0',
      signedDate: Date.now(),
      data: { bundleId: 'com.example.app', environment: 'Sandbox' },
      ...n,
    }
    return { signedPayload: await signJws(chain, payload), uuid }
  }

  it('a wrong type in the signed transaction or the notification changes nothing', async () => {
    const token = await tokenOf('ada')
    const good = await appleNotification(chain, { type: 'SUBSCRIBED', transaction: tx(token, '2000000001') })
    expect((await post({ signedPayload: good.signedPayload })).body.status).toBe('applied')
    expect(await status('ada')).toMatchObject({ status: 'active', has_active_subscription: true })

    const badExpiry = await appleNotification(chain, {
      type: 'EXPIRED',
      transaction: tx(token, '2000000001', { expiresDate: 'yesterday' }),
    })
    await expectRejected(
      await post({ signedPayload: badExpiry.signedPayload }),
      'apple',
      'data.signedTransactionInfo.expiresDate',
      badExpiry.uuid,
    )
    const badOriginal = await appleNotification(chain, {
      type: 'REFUND',
      transaction: tx(token, '2000000001', { originalTransactionId: 2000000001 }),
    })
    await expectRejected(
      await post({ signedPayload: badOriginal.signedPayload }),
      'apple',
      'data.signedTransactionInfo.originalTransactionId',
      badOriginal.uuid,
    )
    const badRenewal = await appleNotification(chain, {
      type: 'DID_CHANGE_RENEWAL_STATUS',
      transaction: tx(token, '2000000001'),
      renewal: { autoRenewStatus: 'off' },
    })
    await expectRejected(
      await post({ signedPayload: badRenewal.signedPayload }),
      'apple',
      'data.signedRenewalInfo.autoRenewStatus',
      badRenewal.uuid,
    )
    const badStatus = await outer({
      notificationType: 'EXPIRED',
      data: { bundleId: 'com.example.app', environment: 'Sandbox', status: 'expired' },
    })
    await expectRejected(await post({ signedPayload: badStatus.signedPayload }), 'apple', 'data.status', badStatus.uuid)
    const badTxJws = await outer({
      data: { bundleId: 'com.example.app', environment: 'Sandbox', signedTransactionInfo: 12 },
    })
    await expectRejected(
      await post({ signedPayload: badTxJws.signedPayload }),
      'apple',
      'data.signedTransactionInfo',
      badTxJws.uuid,
    )
    expect(await status('ada')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it('a missing required field is 400', async () => {
    const token = await tokenOf('ada')
    const { originalTransactionId: _o, ...noOriginal } = tx(token, '2000000001')
    const n = await appleNotification(chain, { type: 'REFUND', transaction: noOriginal })
    await expectRejected(
      await post({ signedPayload: n.signedPayload }),
      'apple',
      'data.signedTransactionInfo.originalTransactionId',
      n.uuid,
    )
    const noType = await outer({ notificationType: undefined })
    await expectRejected(await post({ signedPayload: noType.signedPayload }), 'apple', 'notificationType', noType.uuid)
    // Without a notificationUUID: kept under a digest of the body, and found again on redelivery.
    const noUuid = await outer({ notificationUUID: undefined })
    const before = await countEvents(t, 'apple')
    await expectRejected(await post({ signedPayload: noUuid.signedPayload }), 'apple', 'notificationUUID')
    await expectRejected(await post({ signedPayload: noUuid.signedPayload }), 'apple', 'notificationUUID')
    expect(await countEvents(t, 'apple')).toBe(before + 1)
    expect(await status('ada')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it('a non-object data is 400 and a redelivery adds no row', async () => {
    const n = await outer({ data: ['com.example.app'] })
    await expectRejected(await post({ signedPayload: n.signedPayload }), 'apple', 'data', n.uuid)
    const before = await countEvents(t, 'apple')
    await expectRejected(await post({ signedPayload: n.signedPayload }), 'apple', 'data', n.uuid)
    expect(await countEvents(t, 'apple')).toBe(before)
  })
})

describe('google: malformed pushes with a valid token', () => {
  const push = async (body: unknown) =>
    t.request('POST', '/api/v1/public/webhooks/google', {
      body,
      headers: { authorization: `Bearer ${await google.token()}` },
    })
  const link = (user: string, token: string) =>
    t
      .as(user)
      .post('/api/v1/app/billing/mobile/link', { platform: 'google', purchase_token: token, product_id: 'pro_monthly' })

  it('a wrong type in a field the applier reads changes nothing', async () => {
    await link('gus', 'token-gus')
    expect((await push(pushBody(developerNotification({ type: 4, token: 'token-gus' })))).body.status).toBe('applied')
    expect(await status('gus')).toMatchObject({ status: 'active', has_active_subscription: true })
    const base = developerNotification({ type: 13, token: 'token-gus' })
    const cases: [unknown, string][] = [
      [
        { ...base, subscriptionNotification: { ...base.subscriptionNotification, notificationType: '13' } },
        'message.data.subscriptionNotification.notificationType',
      ],
      [
        { ...base, subscriptionNotification: { ...base.subscriptionNotification, purchaseToken: ['token-gus'] } },
        'message.data.subscriptionNotification.purchaseToken',
      ],
      [{ ...base, subscriptionNotification: 'expired' }, 'message.data.subscriptionNotification'],
      [{ ...base, eventTimeMillis: 'later' }, 'message.data.eventTimeMillis'],
      [
        {
          packageName: 'com.example.app',
          voidedPurchaseNotification: { purchaseToken: 'token-gus', productType: 'subscription' },
        },
        'message.data.voidedPurchaseNotification.productType',
      ],
      [
        { packageName: 'com.example.app', oneTimeProductNotification: { notificationType: 1, purchaseToken: 9 } },
        'message.data.oneTimeProductNotification.purchaseToken',
      ],
      [{ packageName: 'com.example.app', testNotification: 'yes' }, 'message.data.testNotification'],
    ]
    for (const [notification, field] of cases) {
      const body = pushBody(notification)
      await expectRejected(await push(body), 'google', field, body.message.messageId)
    }
    expect(await status('gus')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it('a missing required field is 400', async () => {
    const base = developerNotification({ type: 13, token: 'token-gus' })
    const { purchaseToken: _p, ...noToken } = base.subscriptionNotification
    const { packageName: _n, ...noPackage } = base
    for (const [notification, field] of [
      [{ ...base, subscriptionNotification: noToken }, 'message.data.subscriptionNotification.purchaseToken'],
      [noPackage, 'message.data.packageName'],
    ] as [unknown, string][]) {
      const body = pushBody(notification)
      await expectRejected(await push(body), 'google', field, body.message.messageId)
    }
    expect(await status('gus')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it('a non-object notification or envelope is 400; a redelivery adds no row', async () => {
    const array = pushBody([1, 2])
    await expectRejected(await push(array), 'google', 'message.data', array.message.messageId)
    const nul = pushBody(null)
    await expectRejected(await push(nul), 'google', 'message.data', nul.message.messageId)
    await expectRejected(await push({ message: 'hello' }), 'google', 'message')
    await expectRejected(await push([1]), 'google', 'body')
    const before = await countEvents(t, 'google')
    await expectRejected(await push(array), 'google', 'message.data', array.message.messageId)
    await expectRejected(await push([1]), 'google', 'body')
    expect(await countEvents(t, 'google')).toBe(before)
  })
})

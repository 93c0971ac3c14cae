/** App Store notifications signed by a local CA hierarchy (configured through APPLE_ROOT_CA_PEM): accepted and applied, forgeries refused. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestApp } from '../../../core/testing/index.ts'
import { APPLE_ROOT_CA_G3_PEM, APPLE_ROOT_CA_G3_SHA256 } from '../certs/apple-root-ca-g3.ts'
import { extensionOids } from '../providers/apple-jws.ts'
import { appleNotification, createCa, INTERMEDIATE_OID, LEAF_OID, type AppleChain } from './fakes/apple-ca.ts'
import { billingApp, countEvents } from './support.ts'

let t: TestApp
let ca: ReturnType<typeof createCa>
let good: AppleChain
const DAY = 86_400_000

beforeAll(async () => {
  ca = createCa()
  good = ca.chain()
  const rootFile = join(ca.dir, 'trusted-root.pem')
  writeFileSync(rootFile, good.root.pem)
  t = await billingApp({ APPLE_BUNDLE_ID: 'com.example.app', APPLE_ROOT_CA_PEM: rootFile, APPLE_APP_ID: '1234567890' })
})
afterAll(async () => {
  await t?.close()
  ca?.close()
})

const post = (body: unknown) => t.request('POST', '/api/v1/public/webhooks/apple', { body })
const tokenOf = async (user: string) =>
  (await t.as(user).get('/api/v1/app/billing/status')).body.app_account_token as string
const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body

function transaction(token: string | undefined, original: string, o: { expires?: number; productId?: string } = {}) {
  return {
    transactionId: `${original}-${Math.random().toString(36).slice(2, 8)}`,
    originalTransactionId: original,
    productId: o.productId ?? 'com.example.app.pro.monthly',
    purchaseDate: Date.now() - DAY,
    expiresDate: o.expires ?? Date.now() + 30 * DAY,
    ...(token ? { appAccountToken: token } : {}),
  }
}

describe('bundled root', () => {
  it('is Apple Root CA - G3 with its published fingerprint', () => {
    const root = new X509Certificate(APPLE_ROOT_CA_G3_PEM)
    expect(root.subject).toContain('CN=Apple Root CA - G3')
    expect(root.fingerprint256).toBe(APPLE_ROOT_CA_G3_SHA256)
    expect(root.verify(root.publicKey)).toBe(true)
  })

  it('reads the marker OIDs of the generated certificates', () => {
    expect(extensionOids(new X509Certificate(good.leaf.pem))).toContain(LEAF_OID)
    expect(extensionOids(new X509Certificate(good.intermediate.pem))).toContain(INTERMEDIATE_OID)
    expect(extensionOids(new X509Certificate(good.root.pem))).not.toContain(LEAF_OID)
  })
})

describe('apple webhook', () => {
  it('accepts a valid notification and applies it to the user of the appAccountToken', async () => {
    const token = await tokenOf('alice')
    const n = await appleNotification(good, {
      type: 'SUBSCRIBED',
      subtype: 'INITIAL_BUY',
      transaction: transaction(token, '1000000001'),
      renewal: { autoRenewStatus: 1, originalTransactionId: '1000000001' },
    })
    const res = await post({ signedPayload: n.signedPayload })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect(await status('alice')).toMatchObject({
      plan: 'pro',
      status: 'active',
      has_active_subscription: true,
      source: 'apple',
      cancel_at_period_end: false,
    })
    const [row] = await t.app.db
      .sql`select provider, event_id, type, user_id, environment, subject from inbound_events where event_id = ${n.uuid}`
    expect(row).toEqual({
      provider: 'apple',
      event_id: n.uuid,
      type: 'SUBSCRIBED.INITIAL_BUY',
      user_id: 'alice',
      environment: 'Sandbox',
      subject: '1000000001',
    })
    expect((await post({ signedPayload: n.signedPayload })).body.duplicate).toBe(true)
  })

  it('applies renewal-status changes, expiry and refunds, never an older notification over a newer one', async () => {
    const token = await tokenOf('bob')
    // Signing dates after the local CA's certificates were made (they are valid from then on).
    const t0 = Date.now()
    const tx = transaction(token, '1000000002')
    const send = async (type: string, signedDate: number, extra: Record<string, unknown> = {}) =>
      post({
        signedPayload: (await appleNotification(good, { type, signedDate, transaction: tx, ...extra })).signedPayload,
      })
    expect((await send('SUBSCRIBED', t0)).status).toBe(200)
    expect(
      (
        await send('DID_CHANGE_RENEWAL_STATUS', t0 + 2000, {
          subtype: 'AUTO_RENEW_DISABLED',
          renewal: { autoRenewStatus: 0 },
        })
      ).body.status,
    ).toBe('applied')
    expect(await status('bob')).toMatchObject({ status: 'active', cancel_at_period_end: true })
    // Delivered late: older than the renewal-status change.
    expect((await send('DID_RENEW', t0 + 1000, { renewal: { autoRenewStatus: 1 } })).body.status).toBe('ignored')
    expect((await status('bob')).cancel_at_period_end).toBe(true)
    expect((await send('EXPIRED', t0 + 3000, { subtype: 'VOLUNTARY' })).body.status).toBe('applied')
    expect(await status('bob')).toMatchObject({ plan: 'free', status: 'expired', has_active_subscription: false })
    expect((await send('REFUND', t0 + 4000)).body.status).toBe('applied')
    expect((await status('bob')).status).toBe('refunded')
  })

  it('rejects a wrong root, a missing OID, a two-certificate chain, an expired leaf, a tampered payload and a wrong bundle id, storing nothing', async () => {
    const token = await tokenOf('carol')
    const before = await countEvents(t, 'apple')
    const tx = transaction(token, '1000000003')
    const other = ca.chain()
    const noLeafOid = ca.chain({ root: good.root as never, leafOid: false })
    const noIntOid = ca.chain({ root: good.root as never, intermediateOid: false })
    const shortLeaf = ca.chain({ root: good.root as never, leafDays: 1 })
    const valid = await appleNotification(good, { type: 'SUBSCRIBED', transaction: tx })
    const [h, p, s] = valid.signedPayload.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    const forged = Buffer.from(JSON.stringify({ ...claims, notificationType: 'DID_RENEW' })).toString('base64url')
    const cases: [string, unknown, string][] = [
      [
        'wrong root',
        (await appleNotification(other, { type: 'SUBSCRIBED', transaction: tx })).signedPayload,
        'trusted root',
      ],
      [
        'leaf without OID',
        (await appleNotification(noLeafOid, { type: 'SUBSCRIBED', transaction: tx })).signedPayload,
        'leaf lacks',
      ],
      [
        'intermediate without OID',
        (await appleNotification(noIntOid, { type: 'SUBSCRIBED', transaction: tx })).signedPayload,
        'intermediate lacks',
      ],
      [
        'two certificates',
        (await appleNotification(good, { type: 'SUBSCRIBED', transaction: tx }, [good.leaf.der, good.intermediate.der]))
          .signedPayload,
        'exactly three',
      ],
      [
        'four certificates',
        (
          await appleNotification(good, { type: 'SUBSCRIBED', transaction: tx }, [
            good.leaf.der,
            good.intermediate.der,
            good.root.der,
            good.root.der,
          ])
        ).signedPayload,
        'exactly three',
      ],
      [
        'leaf expired at the signing date',
        (await appleNotification(shortLeaf, { type: 'SUBSCRIBED', signedDate: Date.now() + 3 * DAY, transaction: tx }))
          .signedPayload,
        'leaf certificate is not valid at the signing date',
      ],
      ['tampered payload', `${h}.${forged}.${s}`, 'bad signature'],
      [
        'wrong bundle id',
        (await appleNotification(good, { type: 'SUBSCRIBED', bundleId: 'com.evil.app', transaction: tx }))
          .signedPayload,
        'bundle id',
      ],
      [
        'wrong environment',
        (await appleNotification(good, { type: 'SUBSCRIBED', environment: 'Xcode', transaction: tx })).signedPayload,
        'environment',
      ],
    ]
    for (const [name, signedPayload, reason] of cases) {
      const res = await post({ signedPayload })
      if (res.status !== 400 || !String(res.body.error.details.reason).includes(reason))
        throw new Error(`${name}: ${res.status} ${res.text}`)
      expect(res.body.error.code).toBe('BAD_REQUEST')
    }
    expect(await countEvents(t, 'apple')).toBe(before)
    expect((await status('carol')).has_active_subscription).toBe(false)
  })

  it('rejects a forged signed transaction inside a genuine notification', async () => {
    const token = await tokenOf('dave')
    const other = ca.chain()
    const genuine = await appleNotification(good, { type: 'SUBSCRIBED', transaction: transaction(token, '1000000004') })
    const fake = await appleNotification(other, { type: 'SUBSCRIBED', transaction: transaction(token, '1000000004') })
    // Re-sign the genuine envelope around the forged transaction.
    const { signJws } = await import('./fakes/apple-ca.ts')
    const claims = JSON.parse(Buffer.from(genuine.signedPayload.split('.')[1]!, 'base64url').toString())
    const forgedTx = JSON.parse(Buffer.from(fake.signedPayload.split('.')[1]!, 'base64url').toString()).data
      .signedTransactionInfo
    const envelope = await signJws(good, { ...claims, data: { ...claims.data, signedTransactionInfo: forgedTx } })
    const res = await post({ signedPayload: envelope })
    expect(res.status).toBe(400)
    expect((await status('dave')).has_active_subscription).toBe(false)
  })

  it('answers 400 for an undecodable body', async () => {
    const before = await countEvents(t, 'apple')
    for (const raw of ['{', '{}', '{"signedPayload": 5}', '{"signedPayload": "abc"}', '{"signedPayload": "a.b.c"}']) {
      const res = await t.request('POST', '/api/v1/public/webhooks/apple', {
        raw,
        headers: { 'content-type': 'application/json' },
      })
      expect(res.status).toBe(400)
    }
    expect(await countEvents(t, 'apple')).toBe(before)
  })

  it('stores a notification for an unknown purchase and applies it when the app links the transaction', async () => {
    await tokenOf('erin')
    const n = await appleNotification(good, { type: 'DID_RENEW', transaction: transaction(undefined, '1000000005') })
    expect((await post({ signedPayload: n.signedPayload })).body.status).toBe('unmatched')
    const link = await t.as('erin').post('/api/v1/app/billing/mobile/link', {
      platform: 'apple',
      purchase_token: '1000000005',
      product_id: 'com.example.app.pro.monthly',
    })
    expect(link.status).toBe(200)
    expect(link.body).toMatchObject({
      linked: true,
      platform: 'apple',
      applied_events: 1,
      plan: 'pro',
      has_active_subscription: true,
    })
  })

  it('links a purchase from a StoreKit signed transaction, verified', async () => {
    await tokenOf('frank')
    const { signJws } = await import('./fakes/apple-ca.ts')
    const signed = await signJws(good, {
      bundleId: 'com.example.app',
      environment: 'Sandbox',
      signedDate: Date.now(),
      ...transaction(undefined, '1000000006'),
    })
    const n = await appleNotification(good, { type: 'SUBSCRIBED', transaction: transaction(undefined, '1000000006') })
    await post({ signedPayload: n.signedPayload })
    const res = await t.as('frank').post('/api/v1/app/billing/mobile/link', {
      platform: 'ios',
      purchase_token: signed,
      product_id: 'com.example.app.pro.monthly',
    })
    expect(res.body).toMatchObject({
      linked: true,
      platform: 'apple',
      applied_events: 1,
      has_active_subscription: true,
    })
    const forged = await signJws(ca.chain(), {
      bundleId: 'com.example.app',
      environment: 'Sandbox',
      signedDate: Date.now(),
      ...transaction(undefined, '1000000007'),
    })
    const bad = await t
      .as('frank')
      .post('/api/v1/app/billing/mobile/link', { platform: 'ios', purchase_token: forged, product_id: 'x' })
    expect(bad.status).toBe(422)
  })
})

describe('apple webhook unconfigured', () => {
  it('answers 503 without APPLE_BUNDLE_ID', async () => {
    const bare = await billingApp({})
    try {
      const res = await bare.request('POST', '/api/v1/public/webhooks/apple', { body: { signedPayload: 'a.b.c' } })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE')
    } finally {
      await bare.close()
    }
  })

  it('trusts the bundled Apple root by default, so a local CA is refused', async () => {
    const app = await billingApp({ APPLE_BUNDLE_ID: 'com.example.app' })
    try {
      const n = await appleNotification(good, { type: 'SUBSCRIBED', transaction: transaction(undefined, '1') })
      const res = await app.request('POST', '/api/v1/public/webhooks/apple', {
        body: { signedPayload: n.signedPayload },
      })
      expect(res.status).toBe(400)
      expect(res.body.error.details.reason).toContain('trusted root')
    } finally {
      await app.close()
    }
  })
})

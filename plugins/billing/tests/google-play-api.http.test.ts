/**
 * Google Play with a service account: notifications and purchase links checked with the Play
 * Developer API (a local fake of Google's OAuth and API wire format) for state and expiry,
 * purchases acknowledged by a job, upgrades and obfuscated account ids matched to users.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { INBOUND_RETRY_JOB as RETRY_JOB } from '../../../core/index.ts'
import type { TestApp } from '../../../core/testing/index.ts'
import { ACKNOWLEDGE_JOB } from '../providers/google.ts'
import { developerNotification, pushBody } from './fakes/google-oidc.ts'
import { startFakePlay, type FakePlay } from './fakes/google-play.ts'
import { billingApp } from './support.ts'

const DAY = 86_400_000
let play: FakePlay
let t: TestApp

beforeAll(async () => {
  play = startFakePlay()
  t = await billingApp({
    GOOGLE_PACKAGE_NAME: play.packageName,
    GOOGLE_SERVICE_ACCOUNT_JSON: play.serviceAccountJson,
    GOOGLE_PLAY_API_BASE: play.url,
  })
})
afterAll(async () => {
  await t?.close()
  play?.close()
})

const push = (type: number, token: string, o: { messageId?: string; eventTimeMillis?: number } = {}) =>
  t.request('POST', '/api/v1/public/webhooks/google', {
    body: pushBody(developerNotification({ type, token, eventTimeMillis: o.eventTimeMillis }), o.messageId),
  })
const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body
const link = (user: string, token: string, product = 'pro_monthly') =>
  t.as(user).post('/api/v1/app/billing/mobile/link', { platform: 'google', purchase_token: token, product_id: product })
const googleRow = async (user: string) =>
  (await status(user)).subscriptions.find((s: { source: string }) => s.source === 'google')

describe('purchase link checked with the Play Developer API', () => {
  it('applies the purchase as Google shows it, with its expiry, and acknowledges it once', async () => {
    const expiry = Date.now() + 30 * DAY
    play.setPurchase('tok-alice', { expiry, acknowledged: false })
    const res = await link('alice', 'tok-alice')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ linked: true, plan: 'pro', status: 'active', has_active_subscription: true })
    expect(await status('alice')).toMatchObject({
      source: 'google',
      current_period_end: new Date(expiry).toISOString(),
      cancel_at_period_end: false,
    })
    expect(await googleRow('alice')).toMatchObject({ product_id: 'pro_monthly', status: 'active' })
    // The API was called with a token from a verified jwt-bearer exchange.
    expect(play.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/androidpublisher/v3/applications/com.example.app/purchases/subscriptionsv2/tokens/tok-alice',
      authorization: expect.stringMatching(/^Bearer ya29\./),
    })
    const [job] = await t.app.db.sql`select state, payload from jobs where name = ${ACKNOWLEDGE_JOB}`
    expect(job).toEqual({ state: 'queued', payload: { product_id: 'pro_monthly', purchase_token: 'tok-alice' } })
    await t.app.jobs.runDue()
    expect(play.acknowledged).toEqual(['tok-alice'])
    const [done] = await t.app.db.sql`select state from jobs where name = ${ACKNOWLEDGE_JOB}`
    expect(done!.state).toBe('completed')
  })

  it("refuses a token Google does not know and a product that is not the purchase's, linking nothing", async () => {
    const unknown = await link('bob', 'tok-nobody')
    expect(unknown.status).toBe(422)
    expect(unknown.body.error.code).toBe('VALIDATION_ERROR')
    play.setPurchase('tok-bob', { productId: 'pro_yearly' })
    const wrong = await link('bob', 'tok-bob', 'pro_monthly')
    expect(wrong.status).toBe(422)
    expect(JSON.stringify(wrong.body)).toContain('product_id')
    const rows = await t.app.db.sql`select purchase_token from billing_mobile_links where user_id = 'bob'`
    expect(rows).toHaveLength(0)
  })

  it('answers 502 when Google is failing, and links nothing', async () => {
    play.setPurchase('tok-carol')
    play.fail(503)
    const res = await link('carol', 'tok-carol')
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('EXTERNAL_SERVICE_ERROR')
    expect(JSON.stringify(res.body)).not.toContain('ya29')
    expect(await t.app.db.sql`select 1 from billing_mobile_links where purchase_token = 'tok-carol'`).toHaveLength(0)
    expect((await link('carol', 'tok-carol')).status).toBe(200)
  })
})

describe('notifications checked with the Play Developer API', () => {
  it('takes state, expiry and auto-renew from the API, not from the notification type', async () => {
    const expiry = Date.now() + 20 * DAY
    play.setPurchase('tok-dave', { expiry })
    await link('dave', 'tok-dave')
    // The user turned auto-renew off: Play sends SUBSCRIPTION_CANCELED, the API shows the end date.
    play.setPurchase('tok-dave', { state: 'SUBSCRIPTION_STATE_CANCELED', expiry, autoRenew: false })
    const res = await push(3, 'tok-dave')
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect(await status('dave')).toMatchObject({
      status: 'active',
      has_active_subscription: true,
      cancel_at_period_end: true,
      current_period_end: new Date(expiry).toISOString(),
    })
    // A renewal notification whose purchase Google already shows as expired: the API wins.
    play.setPurchase('tok-dave', { state: 'SUBSCRIPTION_STATE_EXPIRED', expiry: Date.now() - 1000, autoRenew: false })
    expect((await push(2, 'tok-dave')).body.status).toBe('applied')
    expect(await status('dave')).toMatchObject({ plan: 'free', status: 'expired', has_active_subscription: false })
  })

  it('costs no API call for a duplicate delivery and reuses one access token', async () => {
    play.setPurchase('tok-erin')
    await link('erin', 'tok-erin')
    const calls = play.requests.length
    const tokens = play.tokenRequests
    const id = crypto.randomUUID()
    expect((await push(2, 'tok-erin', { messageId: id })).body).toMatchObject({ duplicate: false, status: 'applied' })
    expect((await push(2, 'tok-erin', { messageId: id })).body).toMatchObject({ duplicate: true, status: 'applied' })
    expect(play.requests.length).toBe(calls + 1)
    expect(play.tokenRequests).toBe(tokens)
  })

  it('renews a revoked access token once and goes on', async () => {
    play.setPurchase('tok-fay')
    await link('fay', 'tok-fay')
    const tokens = play.tokenRequests
    play.revokeTokens()
    expect((await push(2, 'tok-fay')).body.status).toBe('applied')
    expect(play.tokenRequests).toBe(tokens + 1)
  })

  it('stores a notification as failed when the API fails, answers 5xx, and applies it on redelivery and by the retry job', async () => {
    play.setPurchase('tok-gus', { expiry: Date.now() + 10 * DAY })
    await link('gus', 'tok-gus')
    play.setPurchase('tok-gus', { state: 'SUBSCRIPTION_STATE_ON_HOLD', expiry: Date.now() - DAY })
    const id = crypto.randomUUID()
    play.fail(500)
    const res = await push(5, 'tok-gus', { messageId: id })
    expect(res.status).toBe(500)
    const [failed] = await t.app.db.sql`select status, error, payload from inbound_events where event_id = ${id}`
    expect(failed!.status).toBe('failed')
    expect(failed!.error).toContain('HTTP 500')
    expect(failed!.payload.play).toBeUndefined()
    expect((await status('gus')).has_active_subscription).toBe(true)
    // Pub/Sub redelivers the same message.
    expect((await push(5, 'tok-gus', { messageId: id })).body).toEqual({
      received: true,
      duplicate: false,
      status: 'applied',
    })
    expect(await status('gus')).toMatchObject({ status: 'on_hold', has_active_subscription: false })
    const [applied] = await t.app.db.sql`select status, payload from inbound_events where event_id = ${id}`
    expect(applied!.payload.play.purchase.subscriptionState).toBe('SUBSCRIPTION_STATE_ON_HOLD')

    // Another failed one, recovered by the retry job instead.
    play.setPurchase('tok-gus', { state: 'SUBSCRIPTION_STATE_ACTIVE', expiry: Date.now() + 30 * DAY })
    const second = crypto.randomUUID()
    play.fail(503)
    expect((await push(1, 'tok-gus', { messageId: second })).status).toBe(500)
    await t.app.db.sql`update jobs set run_at = now() where name = ${RETRY_JOB} and state = 'queued'`
    await t.app.jobs.runDue()
    const [retried] = await t.app.db.sql`select status from inbound_events where event_id = ${second}`
    expect(retried!.status).toBe('applied')
    expect(await status('gus')).toMatchObject({ status: 'active', has_active_subscription: true })
  })

  it("keeps the notification's state when Google no longer knows the purchase", async () => {
    play.setPurchase('tok-hal')
    await link('hal', 'tok-hal')
    // Expired long ago: the API forgets it; the notification itself says expired.
    const now = Date.now()
    play.setPurchase('tok-hal', { state: 'SUBSCRIPTION_STATE_EXPIRED' })
    await t.app.db.sql`update billing_mobile_links set purchase_token = 'tok-hal-gone' where purchase_token = 'tok-hal'`
    await t.app.db
      .sql`update billing_subscriptions set external_id = 'tok-hal-gone', last_event_at = ${new Date(now - DAY)} where user_id = 'hal'`
    const res = await push(13, 'tok-hal-gone', { eventTimeMillis: now })
    expect(res.body.status).toBe('applied')
    expect(await status('hal')).toMatchObject({ status: 'expired', has_active_subscription: false })
    const [row] = await t.app.db.sql`select payload from inbound_events where subject = 'tok-hal-gone'`
    expect(row!.payload.play.unknown).toBe(400)
  })
})

describe('purchases matched without a link call', () => {
  it('gives an upgrade (a new token with linkedPurchaseToken) to the user of the purchase it replaces', async () => {
    play.setPurchase('tok-ivy-1')
    await link('ivy', 'tok-ivy-1')
    play.setPurchase('tok-ivy-2', {
      productId: 'pro_yearly',
      linkedPurchaseToken: 'tok-ivy-1',
      expiry: Date.now() + 365 * DAY,
    })
    const res = await push(4, 'tok-ivy-2')
    expect(res.body.status).toBe('applied')
    expect(await googleRow('ivy')).toMatchObject({ product_id: 'pro_yearly', status: 'active' })
    const [l] = await t.app.db
      .sql`select user_id, product_id from billing_mobile_links where purchase_token = 'tok-ivy-2'`
    expect(l).toEqual({ user_id: 'ivy', product_id: 'pro_yearly' })
  })

  it("matches obfuscatedExternalAccountId to the user's app_account_token", async () => {
    const token = (await status('jay')).app_account_token as string
    play.setPurchase('tok-jay', { accountId: token })
    expect((await push(4, 'tok-jay')).body.status).toBe('applied')
    expect(await status('jay')).toMatchObject({ has_active_subscription: true, source: 'google' })
    // Someone else cannot take the purchase over.
    expect((await link('kim', 'tok-jay')).status).toBe(409)
  })

  it('leaves a purchase with no way to its user unmatched until the link arrives', async () => {
    play.setPurchase('tok-lea')
    expect((await push(4, 'tok-lea')).body.status).toBe('unmatched')
    const res = await link('lea', 'tok-lea')
    expect(res.body).toMatchObject({ applied_events: 1, has_active_subscription: true })
  })
})

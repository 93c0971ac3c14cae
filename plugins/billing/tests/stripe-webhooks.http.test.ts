/** Stripe webhooks signed with the official SDK: accepted, forged ones refused with nothing stored, duplicates and old events never applied. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../../../core/observability/index.ts'
import type { TestApp } from '../../../core/testing/index.ts'
import {
  billingApp,
  countEvents,
  PLUGINS,
  postStripe,
  provision,
  stripeEnv,
  stripeEvent,
  WEBHOOK_SECRET,
} from './support.ts'
import { testApp } from '../../../core/testing/index.ts'

let t: TestApp
const logs: string[] = []
const published: unknown[] = []

beforeAll(async () => {
  t = await testApp({
    plugins: PLUGINS,
    env: { ...stripeEnv(), STRIPE_API_BASE: 'http://127.0.0.1:9' },
    logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
  })
  t.app.events.subscribe('subscription.updated', (p) => void published.push(p))
})
afterAll(() => t?.close())

let n = 0
/** A subscription object in the current API shape (the period on the item). */
function subscription(
  user: string,
  o: { id?: string; status?: string; cancel?: boolean; periodEnd?: number; price?: string } = {},
) {
  const end = o.periodEnd ?? Math.floor(Date.now() / 1000) + 30 * 86400
  return {
    id: o.id ?? `sub_test_${++n}`,
    object: 'subscription',
    customer: `cus_${user}`,
    status: o.status ?? 'active',
    livemode: false,
    cancel_at_period_end: o.cancel ?? false,
    cancel_at: null,
    metadata: { user_id: user },
    items: {
      object: 'list',
      data: [
        {
          id: `si_${n}`,
          object: 'subscription_item',
          price: { id: o.price ?? 'price_monthly_test', object: 'price', product: 'prod_1' },
          current_period_end: end,
        },
      ],
    },
  }
}

const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body

describe('stripe webhooks', () => {
  it('accepts a signed event, stores it with its id and applies it', async () => {
    await provision(t, 'alice')
    const event = stripeEvent('customer.subscription.created', subscription('alice'))
    const res = await postStripe(t, event)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    const [row] = await t.app.db
      .sql`select provider, event_id, type, status, user_id from inbound_events where event_id = ${event.id}`
    expect(row).toEqual({
      provider: 'stripe',
      event_id: event.id,
      type: 'customer.subscription.created',
      status: 'applied',
      user_id: 'alice',
    })
    expect(await status('alice')).toMatchObject({ plan: 'pro', status: 'active', has_active_subscription: true })
    await Bun.sleep(20)
    expect(published).toContainEqual(
      expect.objectContaining({
        user_id: 'alice',
        source: 'stripe',
        plan: 'pro',
        status: 'active',
        has_active_subscription: true,
      }),
    )
  })

  it('refuses a tampered body, a wrong secret, an old timestamp and a missing header, storing nothing', async () => {
    await provision(t, 'bob')
    const before = await countEvents(t)
    const event = stripeEvent('customer.subscription.created', subscription('bob'))
    const tampered = JSON.stringify({
      ...event,
      data: { object: { ...event.data.object, status: 'active', metadata: { user_id: 'mallory' } } },
    })
    const cases = [
      await postStripe(t, event, { body: tampered }),
      await postStripe(t, event, { secret: 'whsec_wrong_0123456789abcdefghij' }),
      await postStripe(t, event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await t.request('POST', '/api/v1/public/webhooks/stripe', {
        raw: JSON.stringify(event),
        headers: { 'content-type': 'application/json' },
      }),
      await t.request('POST', '/api/v1/public/webhooks/stripe', {
        raw: JSON.stringify(event),
        headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=deadbeef' },
      }),
    ]
    for (const res of cases) {
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('BAD_REQUEST')
      expect(res.text).not.toContain(WEBHOOK_SECRET)
    }
    expect(await countEvents(t)).toBe(before)
    expect((await status('bob')).has_active_subscription).toBe(false)
    expect(logs.join('\n')).not.toContain(WEBHOOK_SECRET)
  })

  it('accepts a timestamp within the 300 s tolerance', async () => {
    const event = stripeEvent('customer.subscription.created', subscription('nobody-yet'))
    const res = await postStripe(t, event, { timestamp: Math.floor(Date.now() / 1000) - 290 })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('unmatched')
  })

  it('answers 400 for a signed payload that is not a Stripe event, storing it once as rejected', async () => {
    const before = await countEvents(t)
    const hello = await postStripe(t, { hello: 'world' })
    expect(hello.status).toBe(400)
    expect(hello.body.error.details).toEqual({ provider: 'stripe', field: 'id' })
    const raw = 'not json at all'
    const { default: Stripe } = await import('stripe')
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({ payload: raw, secret: WEBHOOK_SECRET })
    const res = await t.request('POST', '/api/v1/public/webhooks/stripe', {
      raw,
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.details).toEqual({ provider: 'stripe', field: 'body' })
    // Neither has an event id: each is kept under a digest of its body, rejected.
    const rows = await t.app.db.sql`select event_id, status from inbound_events order by received_at desc limit 2`
    expect(rows.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(rows.every((r) => /^sha256:[0-9a-f]{64}$/.test(r.event_id))).toBe(true)
    expect(await countEvents(t)).toBe(before + 2)
  })

  it('acknowledges a duplicate with 200 and does not apply it again', async () => {
    await provision(t, 'carol')
    const sub = subscription('carol')
    const created = stripeEvent('customer.subscription.created', sub)
    expect((await postStripe(t, created)).body.duplicate).toBe(false)
    // A newer change, then the first event delivered again: it must not roll the state back.
    expect(
      (
        await postStripe(
          t,
          stripeEvent(
            'customer.subscription.updated',
            { ...sub, cancel_at_period_end: true },
            { created: created.created + 5 },
          ),
        )
      ).status,
    ).toBe(200)
    const again = await postStripe(t, created)
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ received: true, duplicate: true, status: 'applied' })
    expect((await status('carol')).cancel_at_period_end).toBe(true)
    const copies = (
      await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from inbound_events where event_id = ${created.id}`
    )[0]!.n
    expect(copies).toBe(1)
  })

  it('applies one of two concurrent deliveries of the same event', async () => {
    await provision(t, 'dave')
    const event = stripeEvent('customer.subscription.created', subscription('dave'))
    const results = await Promise.all([postStripe(t, event), postStripe(t, event), postStripe(t, event)])
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    expect(results.filter((r) => !r.body.duplicate).length).toBe(1)
    const copies = (
      await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from inbound_events where event_id = ${event.id}`
    )[0]!.n
    expect(copies).toBe(1)
  })

  it('keeps the newest state when updated arrives before created, and an old update after a newer one', async () => {
    await provision(t, 'erin')
    const t0 = Math.floor(Date.now() / 1000) - 100
    const sub = subscription('erin', { status: 'incomplete' })
    const created = stripeEvent('customer.subscription.created', sub, { created: t0 })
    const activated = stripeEvent('customer.subscription.updated', { ...sub, status: 'active' }, { created: t0 + 10 })
    const canceling = stripeEvent(
      'customer.subscription.updated',
      { ...sub, status: 'active', cancel_at_period_end: true },
      { created: t0 + 20 },
    )
    expect((await postStripe(t, activated)).body.status).toBe('applied')
    expect((await postStripe(t, created)).body.status).toBe('ignored')
    expect(await status('erin')).toMatchObject({ status: 'active', cancel_at_period_end: false })
    expect((await postStripe(t, canceling)).body.status).toBe('applied')
    const older = stripeEvent(
      'customer.subscription.updated',
      { ...sub, status: 'active', cancel_at_period_end: false },
      { created: t0 + 15 },
    )
    expect((await postStripe(t, older)).body.status).toBe('ignored')
    expect(await status('erin')).toMatchObject({ status: 'active', cancel_at_period_end: true })
    const deleted = stripeEvent('customer.subscription.deleted', { ...sub, status: 'canceled' }, { created: t0 + 30 })
    expect((await postStripe(t, deleted)).body.status).toBe('applied')
    expect(await status('erin')).toMatchObject({ plan: 'free', status: 'canceled', has_active_subscription: false })
  })

  it('links the customer on checkout.session.completed and applies events that waited for it', async () => {
    await provision(t, 'frank')
    const sub = { ...subscription('frank'), metadata: {}, customer: 'cus_frank_checkout' }
    // The subscription event first: no metadata and an unknown customer, so it waits.
    const early = await postStripe(
      t,
      stripeEvent('customer.subscription.created', sub, { created: Math.floor(Date.now() / 1000) - 5 }),
    )
    expect(early.body.status).toBe('unmatched')
    const session = {
      id: 'cs_test_frank',
      object: 'checkout.session',
      mode: 'subscription',
      customer: 'cus_frank_checkout',
      subscription: sub.id,
      client_reference_id: 'frank',
      metadata: { user_id: 'frank', plan: 'monthly' },
      payment_status: 'paid',
    }
    expect((await postStripe(t, stripeEvent('checkout.session.completed', session))).body.status).toBe('applied')
    const s = await status('frank')
    expect(s).toMatchObject({ plan: 'pro', status: 'active', has_active_subscription: true })
    expect(s.current_period_end).not.toBeNull()
    const [row] = await t.app.db
      .sql`select status, user_id from inbound_events where provider = 'stripe' and type = 'customer.subscription.created' and subject = ${sub.id}`
    expect(row).toEqual({ status: 'applied', user_id: 'frank' })
  })

  it('marks past_due on invoice.payment_failed and active again on invoice.paid', async () => {
    await provision(t, 'gina')
    const sub = subscription('gina')
    const t0 = Math.floor(Date.now() / 1000) - 50
    await postStripe(t, stripeEvent('customer.subscription.created', sub, { created: t0 }))
    const invoice = (paid: boolean) => ({
      id: `in_${paid}`,
      object: 'invoice',
      customer: sub.customer,
      status: paid ? 'paid' : 'open',
      parent: { type: 'subscription_details', subscription_details: { subscription: sub.id } },
      lines: { data: [{ period: { start: t0, end: t0 + 60 * 86400 } }] },
    })
    expect(
      (await postStripe(t, stripeEvent('invoice.payment_failed', invoice(false), { created: t0 + 1 }))).body.status,
    ).toBe('applied')
    expect(await status('gina')).toMatchObject({ plan: 'free', status: 'past_due', has_active_subscription: false })
    expect((await postStripe(t, stripeEvent('invoice.paid', invoice(true), { created: t0 + 2 }))).body.status).toBe(
      'applied',
    )
    const s = await status('gina')
    expect(s).toMatchObject({ plan: 'pro', status: 'active' })
    expect(new Date(s.current_period_end).getTime()).toBe((t0 + 60 * 86400) * 1000)
  })

  it('stores events it does not handle as ignored', async () => {
    const res = await postStripe(t, stripeEvent('charge.refunded', { id: 'ch_1', object: 'charge' }))
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'ignored' })
  })
})

describe('stripe webhooks unconfigured', () => {
  it('answers 503 without STRIPE_WEBHOOK_SECRET and stores nothing', async () => {
    const bare = await billingApp({})
    try {
      const res = await postStripe(bare, stripeEvent('customer.subscription.created', subscription('x')))
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE')
      expect(await countEvents(bare)).toBe(0)
    } finally {
      await bare.close()
    }
  })
})

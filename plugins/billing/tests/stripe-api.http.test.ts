/** Stripe API routes against a local fake speaking Stripe's wire format: checkout, portal, invoices, cancel, resume, 503 and 502. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../../../core/observability/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { billingApp, PLUGINS, postStripe, stripeEnv, stripeEvent } from './support.ts'

let fake: FakeStripe
let t: TestApp
const BODY = {
  plan: 'monthly',
  success_url: 'https://app.example.com/billing/success',
  cancel_url: 'https://app.example.com/billing/cancel',
}

beforeAll(async () => {
  fake = startFakeStripe()
  t = await billingApp(stripeEnv(fake))
})
afterAll(async () => {
  await t?.close()
  fake?.close()
})

/** Gives `user` a Stripe subscription as the webhooks would: a customer at the fake, then customer.subscription.created. */
async function subscribe(user: string) {
  await t.as(user).post('/api/v1/app/billing/checkout', BODY)
  const customer = [...fake.customers.values()].find((c) => c.metadata.user_id === user)!
  const sub = fake.addSubscription(customer.id, 'price_monthly_test', { user_id: user })
  const res = await postStripe(t, stripeEvent('customer.subscription.created', sub))
  expect(res.status).toBe(200)
  return { customer, sub }
}

describe('stripe api', () => {
  it('creates a checkout session with the user id, creating the customer once and reusing it', async () => {
    const res = await t.as('alice').post('/api/v1/app/billing/checkout', BODY)
    expect(res.status).toBe(200)
    expect(res.body.session_id).toStartWith('cs_test_')
    expect(res.body.url).toStartWith('https://checkout.stripe.com/')
    const create = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
    expect(create.headers['content-type']).toContain('application/x-www-form-urlencoded')
    expect(create.form.client_reference_id).toBe('alice')
    expect(create.form.metadata.user_id).toBe('alice')
    expect(create.form.subscription_data.metadata.user_id).toBe('alice')
    expect(create.form.line_items[0].price).toBe('price_monthly_test')
    expect(create.form.mode).toBe('subscription')

    const again = await t.as('alice').post('/api/v1/app/billing/checkout', { ...BODY, plan: 'yearly' })
    expect(again.status).toBe(200)
    expect(fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!.form.line_items[0].price).toBe(
      'price_yearly_test',
    )
    const mine = [...fake.customers.values()].filter((c) => c.metadata.user_id === 'alice')
    expect(mine.length).toBe(1)
    expect(fake.requests.filter((r) => r.path === '/v1/checkout/sessions').map((r) => r.form.customer)).toEqual([
      mine[0]!.id,
      mine[0]!.id,
    ])
  })

  it('creates one customer for concurrent first checkouts', async () => {
    const results = await Promise.all([1, 2, 3].map(() => t.as('carol').post('/api/v1/app/billing/checkout', BODY)))
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    const ids = new Set(
      fake.requests
        .filter((r) => r.path === '/v1/checkout/sessions' && r.form.client_reference_id === 'carol')
        .map((r) => r.form.customer),
    )
    expect(ids.size).toBe(1)
  })

  it('validates the checkout body (422) and v2 wraps the session', async () => {
    expect((await t.as('alice').post('/api/v1/app/billing/checkout', { ...BODY, plan: 'weekly' })).status).toBe(422)
    const bad = await t
      .as('alice')
      .post('/api/v1/app/billing/checkout', { ...BODY, success_url: 'javascript:alert(1)' })
    expect(bad.status).toBe(422)
    expect(bad.body.error.details.field).toBe('success_url')
    const v2 = await t.as('alice').post('/api/v2/app/billing/checkout', BODY)
    expect(v2.status).toBe(200)
    expect(v2.body.data.session_id).toStartWith('cs_test_')
    expect(v2.body.meta.version).toBe('v2')
  })

  it("returns a billing portal URL for the user's customer", async () => {
    const res = await t.as('alice').get('/api/v1/app/billing/portal?return_url=https://app.example.com/settings')
    expect(res.status).toBe(200)
    expect(res.body.url).toStartWith('https://billing.stripe.com/')
    const req = fake.requests.filter((r) => r.path === '/v1/billing_portal/sessions').at(-1)!
    expect(req.form.return_url).toBe('https://app.example.com/settings')
    expect(fake.customers.get(req.form.customer)!.metadata.user_id).toBe('alice')
  })

  it("lists invoices in the seed's shape, limited", async () => {
    const customer = [...fake.customers.values()].find((c) => c.metadata.user_id === 'alice')!
    for (let i = 0; i < 3; i++) {
      fake.invoices.push({
        id: `in_${i}`,
        object: 'invoice',
        customer: customer.id,
        number: `INV-000${i}`,
        status: 'paid',
        amount_due: 1999,
        amount_paid: 1999,
        currency: 'usd',
        created: 1704067200 + i,
        hosted_invoice_url: `https://invoice.stripe.com/i/${i}`,
        invoice_pdf: `https://pay.stripe.com/invoice/${i}/pdf`,
        livemode: false,
      })
    }
    const res = await t.as('alice').get('/api/v1/app/billing/invoices?limit=2')
    expect(res.status).toBe(200)
    expect(res.body).toEqual([
      {
        id: 'in_2',
        number: 'INV-0002',
        status: 'paid',
        amount_due: 1999,
        amount_paid: 1999,
        currency: 'usd',
        created: 1704067202,
        hosted_invoice_url: 'https://invoice.stripe.com/i/2',
        invoice_pdf: 'https://pay.stripe.com/invoice/2/pdf',
      },
      {
        id: 'in_1',
        number: 'INV-0001',
        status: 'paid',
        amount_due: 1999,
        amount_paid: 1999,
        currency: 'usd',
        created: 1704067201,
        hosted_invoice_url: 'https://invoice.stripe.com/i/1',
        invoice_pdf: 'https://pay.stripe.com/invoice/1/pdf',
      },
    ])
    expect(fake.requests.filter((r) => r.path === '/v1/invoices').at(-1)!.query).toEqual({
      customer: customer.id,
      limit: '2',
    })
    expect((await t.as('nobody').get('/api/v1/app/billing/invoices')).body).toEqual([])
    expect((await t.as('alice').get('/api/v1/app/billing/invoices?limit=0')).status).toBe(422)
  })

  it('cancels at period end, resumes, then cancels immediately', async () => {
    const { sub } = await subscribe('dave')
    const status = await t.as('dave').get('/api/v1/app/billing/status')
    expect(status.body).toMatchObject({
      plan: 'pro',
      status: 'active',
      has_active_subscription: true,
      cancel_at_period_end: false,
    })
    expect(status.body.app_account_token).toMatch(/^[0-9a-f-]{36}$/)

    const cancel = await t.as('dave').post('/api/v1/app/billing/cancel?immediate=false')
    expect(cancel.status).toBe(200)
    expect(cancel.body).toEqual({
      message: 'Subscription will cancel at the end of the billing period',
      status: 'active',
      cancel_at_period_end: true,
      current_period_end: new Date(sub.items.data[0].current_period_end * 1000).toISOString(),
    })
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: `/v1/subscriptions/${sub.id}`,
      form: { cancel_at_period_end: 'true' },
    })
    expect((await t.as('dave').get('/api/v1/app/billing/status')).body.cancel_at_period_end).toBe(true)

    const resume = await t.as('dave').post('/api/v1/app/billing/resume')
    expect(resume.body).toEqual({ message: 'Subscription resumed', status: 'active', plan: 'pro' })
    expect((await t.as('dave').get('/api/v1/app/billing/status')).body.cancel_at_period_end).toBe(false)

    const now = await t.as('dave').post('/api/v1/app/billing/cancel?immediate=true')
    expect(now.body).toMatchObject({
      message: 'Subscription canceled',
      status: 'canceled',
      cancel_at_period_end: false,
    })
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/subscriptions/${sub.id}` })
    expect((await t.as('dave').get('/api/v1/app/billing/status')).body).toMatchObject({
      plan: 'free',
      status: 'canceled',
      has_active_subscription: false,
    })
    expect((await t.as('dave').post('/api/v1/app/billing/resume')).status).toBe(409)
  })

  it('answers 404 to cancel and resume without a Stripe subscription', async () => {
    const res = await t.as('erin').post('/api/v1/app/billing/cancel')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('NOT_FOUND')
  })

  it("answers 502 EXTERNAL_SERVICE_ERROR on a Stripe failure, without Stripe's message or any key", async () => {
    fake.fail(500)
    const res = await t.as('frank').post('/api/v1/app/billing/checkout', BODY)
    expect(res.status).toBe(502)
    expect(res.body.error.code).toBe('EXTERNAL_SERVICE_ERROR')
    expect(res.body.error.details).toMatchObject({ provider: 'stripe', type: 'StripeAPIError', upstream_status: 500 })
    expect(res.text).not.toContain(fake.key)
    expect(res.text).not.toContain('sk_test')

    fake.fail(402, 1, { type: 'card_error', message: 'Your card was declined.', code: 'card_declined' })
    const portal = await t.as('alice').get('/api/v1/app/billing/portal')
    expect(portal.status).toBe(502)
    expect(portal.body.error.details.code).toBe('card_declined')
  })

  it('answers 502 when Stripe refuses the key, and the key is never echoed or logged', async () => {
    const logs: string[] = []
    const wrong = await testApp({
      plugins: PLUGINS,
      env: { ...stripeEnv(fake), STRIPE_SECRET_KEY: 'sk_test_wrongkey0123456789abcd' },
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
    })
    try {
      const res = await wrong.as('gina').post('/api/v1/app/billing/checkout', BODY)
      expect(res.status).toBe(502)
      expect(res.body.error.details.upstream_status).toBe(401)
      expect(res.text).not.toContain('sk_test')
      expect(res.text).not.toContain('abcd')
      expect(logs.some((l) => l.includes('stripe request failed'))).toBe(true)
      expect(logs.join('\n')).not.toContain('wrongkey')
      expect(logs.join('\n')).not.toContain('Invalid API Key')
    } finally {
      await wrong.close()
    }
  })

  it('answers 502 when Stripe is unreachable', async () => {
    const down = await billingApp({ ...stripeEnv(fake), STRIPE_API_BASE: 'http://127.0.0.1:9' })
    try {
      const res = await down.as('hank').post('/api/v1/app/billing/checkout', BODY)
      expect(res.status).toBe(502)
      expect(res.body.error.details.type).toBe('StripeConnectionError')
    } finally {
      await down.close()
    }
  })
})

describe('stripe api without STRIPE_SECRET_KEY', () => {
  let bare: TestApp
  beforeAll(async () => {
    bare = await billingApp({})
  })
  afterAll(() => bare?.close())

  it('answers 503 SERVICE_UNAVAILABLE on every Stripe route', async () => {
    const calls = [
      bare.as('u').get('/api/v1/app/billing/status'),
      bare.as('u').post('/api/v1/app/billing/checkout', BODY),
      bare.as('u').get('/api/v1/app/billing/portal'),
      bare.as('u').get('/api/v1/app/billing/invoices'),
      bare.as('u').post('/api/v1/app/billing/cancel'),
      bare.as('u').post('/api/v1/app/billing/resume'),
      bare.as('u').post('/api/v2/app/billing/resume'),
    ]
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE')
    }
  })
})

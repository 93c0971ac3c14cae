/**
 * Organization billing (docs/plugins/billing.md#organizations-and-seats): owners and billing
 * members open checkout and portal on the organization's own Stripe customer, admins and members
 * may not (403), strangers get 404; a member's plan and plan_based flags come from the active
 * organization, their own plan otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { OrgTestApp } from '../../organizations/tests/support.ts'
import { addMember, createOrg } from '../../organizations/tests/support.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { ADMIN, inOrg, orgBillingApp, subscribeOrg } from './org-support.ts'
import { billingApp, stripeEnv } from './support.ts'

let fake: FakeStripe
let t: OrgTestApp
let org: string

const body = { plan: 'monthly', success_url: 'https://app.example.com/ok', cancel_url: 'https://app.example.com/no' }
const checkout = (user: string, headers = inOrg(org)) => t.as(user).post('/api/v1/app/billing/checkout', body, headers)

beforeAll(async () => {
  fake = startFakeStripe()
  t = await orgBillingApp(fake)
  org = await createOrg(t, 'ob-owner')
  for (const role of ['admin', 'member', 'billing'] as const) await addMember(t, org, 'ob-owner', `ob-${role}`, role)
  await t.as('ob-stranger').get('/api/v1/app/billing/status')
  const flag = await t.as(ADMIN).post('/api/v1/admin/feature-flags', {
    key: 'team_only',
    name: 'Team',
    flag_type: 'plan_based',
    plans: ['team'],
    is_enabled: true,
  })
  expect(flag.status).toBe(201)
})
afterAll(async () => {
  await t?.close()
  fake?.close()
})

describe('organization billing', () => {
  it('checkout and portal: owner and billing member yes, admin and member 403, stranger 404', async () => {
    for (const [user, status] of [
      ['ob-admin', 403],
      ['ob-member', 403],
      ['ob-stranger', 404],
    ] as const) {
      const c = await checkout(user)
      expect([user, c.status]).toEqual([user, status])
      if (status === 403) expect(c.body.error.code).toBe('AUTHORIZATION_ERROR')
      expect((await t.as(user).get('/api/v1/app/billing/portal', inOrg(org))).status).toBe(status)
      expect((await t.as(user).get('/api/v1/app/billing/invoices', inOrg(org))).status).toBe(status)
    }
    const byBilling = await checkout('ob-billing')
    expect(byBilling.status).toBe(200)
    expect(byBilling.body.url).toStartWith('https://checkout.stripe.com/')
    const session = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
    expect(session.form.metadata).toMatchObject({ org_id: org, plan: 'monthly' })
    expect(session.form.subscription_data.metadata).toEqual({ org_id: org })
    expect(session.form.line_items[0].quantity).toBe('4')
    // The organization's own customer, created once, also for the owner's checkout and both portals.
    const customer = fake.customers.get(session.form.customer)!
    expect(customer.metadata).toEqual({ org_id: org })
    expect((await checkout('ob-owner')).status).toBe(200)
    const owner = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
    expect(owner.form.customer).toBe(customer.id)
    for (const user of ['ob-owner', 'ob-billing']) {
      const portal = await t.as(user).get('/api/v1/app/billing/portal', inOrg(org))
      expect(portal.status).toBe(200)
      expect(fake.requests.filter((r) => r.path === '/v1/billing_portal/sessions').at(-1)!.form.customer).toBe(
        customer.id,
      )
    }
    expect([...fake.customers.values()].filter((c) => c.metadata.org_id === org)).toHaveLength(1)
    // Without the header the same user's checkout is their own, as before.
    expect((await checkout('ob-member', { headers: {} })).status).toBe(200)
    const personal = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
    expect(personal.form.metadata).toEqual({ user_id: 'ob-member', plan: 'monthly' })
    expect(personal.form.line_items[0].quantity).toBe('1')
  })

  it("a member's plan and plan_based flags come from the active organization's subscription", async () => {
    const status = () => t.as('ob-member').get('/api/v1/app/billing/status', inOrg(org))
    const flag = (headers = inOrg(org)) => t.as('ob-member').get('/api/v1/app/feature-flags/team_only', headers)
    expect((await status()).body).toMatchObject({ plan: 'free', has_active_subscription: false, subscriptions: [] })
    expect((await flag()).body).toMatchObject({ is_enabled: false, reason: 'plan_not_included' })

    const changed = new Promise<void>((resolve) => {
      const off = t.app.events.subscribe('org_subscription.updated', (p) => {
        if (p.org_id === org && p.plan === 'team') {
          off()
          resolve()
        }
      })
    })
    await subscribeOrg(t, fake, org, 'ob-owner')
    await changed

    const s = await status()
    expect(s.status).toBe(200)
    expect(s.body).toMatchObject({ plan: 'team', status: 'active', has_active_subscription: true, source: 'stripe' })
    expect(s.body.subscriptions).toEqual([
      expect.objectContaining({ source: 'stripe', plan: 'team', status: 'active' }),
    ])
    expect((await flag()).body).toMatchObject({ is_enabled: true, reason: 'plan' })
    const all = await t.as('ob-billing').get('/api/v1/app/feature-flags', inOrg(org))
    expect(all.body.flags.team_only).toBe(true)

    // Personal plan without the header; a stranger naming the organization gets 404.
    expect((await t.as('ob-member').get('/api/v1/app/billing/status')).body.plan).toBe('free')
    expect((await flag({ headers: {} })).body).toMatchObject({ is_enabled: false })
    expect((await t.as('ob-stranger').get('/api/v1/app/billing/status', inOrg(org))).status).toBe(404)
    // A live subscription: a second checkout for the organization is 409.
    expect((await checkout('ob-billing')).status).toBe(409)

    // Cancel and resume act on the organization's subscription, for its billing managers only.
    expect((await t.as('ob-member').post('/api/v1/app/billing/cancel', undefined, inOrg(org))).status).toBe(403)
    const cancelled = await t.as('ob-billing').post('/api/v1/app/billing/cancel', undefined, inOrg(org))
    expect(cancelled.status).toBe(200)
    expect(cancelled.body).toMatchObject({ status: 'active', cancel_at_period_end: true })
    expect((await status()).body.cancel_at_period_end).toBe(true)
    const resumed = await t.as('ob-owner').post('/api/v1/app/billing/resume', undefined, inOrg(org))
    expect(resumed.status).toBe(200)
    expect(resumed.body).toMatchObject({ status: 'active', plan: 'team' })
    expect((await status()).body.cancel_at_period_end).toBe(false)
    // The member's own (no) subscription is untouched.
    expect((await t.as('ob-member').post('/api/v1/app/billing/cancel')).status).toBe(404)
  })
})

describe('billing without the organizations plugin', () => {
  it('ignores X-Organization-ID: checkout and status stay personal', async () => {
    const plain = await billingApp(stripeEnv(fake))
    try {
      const res = await plain.as('solo').post('/api/v1/app/billing/checkout', body, inOrg(org))
      expect(res.status).toBe(200)
      const session = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
      expect(session.form.metadata).toEqual({ user_id: 'solo', plan: 'monthly' })
      expect(session.form.line_items[0].quantity).toBe('1')
      const status = await plain.as('solo').get('/api/v1/app/billing/status', inOrg(org))
      expect(status.body).toMatchObject({ plan: 'free', subscriptions: [] })
    } finally {
      await plain.close()
    }
  })
})

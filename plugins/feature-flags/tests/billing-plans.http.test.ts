/** plan_based flags follow the plan the billing plugin derives, through billing's optional dependency on feature-flags. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import billing from '../../billing/index.ts'
import { postStripe, stripeEnv, stripeEvent } from '../../billing/tests/support.ts'
import users from '../../users/index.ts'
import featureFlags from '../index.ts'

const admin = { sub: 'plans-admin', email: 'plans-admin@example.com' }
let t: TestApp

beforeAll(async () => {
  t = await testApp({
    // Listed before billing on purpose: the core sets billing up after the plugins it names.
    plugins: [featureFlags, users, billing],
    env: {
      ...stripeEnv(),
      STRIPE_API_BASE: 'http://127.0.0.1:9',
      ADMIN_EMAILS: admin.email,
      RATE_LIMIT_DEFAULT: '100000/minute',
    },
  })
  const res = await t.as(admin).post('/api/v1/admin/feature-flags', {
    key: 'pro_only',
    name: 'Pro',
    flag_type: 'plan_based',
    plans: ['pro'],
    is_enabled: true,
  })
  expect(res.status).toBe(201)
})
afterAll(() => t?.close())

let n = 0
const subscription = (user: string, status: string) => ({
  id: `sub_plans_${user}`,
  object: 'subscription',
  customer: `cus_${user}`,
  status,
  livemode: false,
  cancel_at_period_end: false,
  metadata: { user_id: user },
  items: {
    object: 'list',
    data: [
      {
        id: `si_plans_${++n}`,
        price: { id: 'price_monthly_test', product: 'prod_1' },
        current_period_end: Math.floor(Date.now() / 1000) + 86400,
      },
    ],
  },
})
/** The caller's evaluation of pro_only, over HTTP. */
const proOnly = async (user: string) => (await t.as(user).get('/api/v1/app/feature-flags/pro_only')).body
/** Waits for the broadcast `subscription.updated` of `user` to reach the flags. */
const updated = (user: string) =>
  new Promise<void>((resolve) => {
    const off = t.app.events.subscribe('subscription.updated', (p) => {
      if (p.user_id === user) {
        off()
        setTimeout(resolve, 5)
      }
    })
  })

describe('plan_based flags with billing installed', () => {
  it('keeps a user without a subscription on free', async () => {
    expect(await proOnly('plans-free')).toEqual({
      flag_key: 'pro_only',
      is_enabled: false,
      reason: 'plan_not_included',
    })
  })

  it("reads the plan from billing's subscriptions", async () => {
    // Stored without a webhook (no event): only the resolver billing registered can know it.
    await t.as('plans-stored').get('/api/v1/app/users/me')
    await t.app.db.sql`
      insert into billing_subscriptions (user_id, source, external_id, plan, status, last_event_at)
      values ('plans-stored', 'apple', 'tx-plans-stored', 'pro', 'active', now())`
    expect(await proOnly('plans-stored')).toEqual({ flag_key: 'pro_only', is_enabled: true, reason: 'plan' })
    expect(await t.app.service(featureFlags).isEnabled('pro_only', 'plans-stored')).toBe(true)
  })

  it('follows a subscription that starts and ends, at once', async () => {
    await t.as('plans-alice').get('/api/v1/app/users/me')
    expect((await proOnly('plans-alice')).is_enabled).toBe(false)

    const now = Math.floor(Date.now() / 1000)
    let seen = updated('plans-alice')
    expect(
      (
        await postStripe(
          t,
          stripeEvent('customer.subscription.created', subscription('plans-alice', 'active'), { created: now - 10 }),
        )
      ).status,
    ).toBe(200)
    await seen
    expect(await proOnly('plans-alice')).toEqual({ flag_key: 'pro_only', is_enabled: true, reason: 'plan' })

    seen = updated('plans-alice')
    expect(
      (
        await postStripe(
          t,
          stripeEvent('customer.subscription.deleted', subscription('plans-alice', 'canceled'), { created: now }),
        )
      ).status,
    ).toBe(200)
    await seen
    expect(await proOnly('plans-alice')).toEqual({
      flag_key: 'pro_only',
      is_enabled: false,
      reason: 'plan_not_included',
    })
  })
})

/** The inbound-event pipeline: failures stored and retried, admin list and replay, derived plans across stores, dashboard stats. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin, INBOUND_RETRY_JOB as RETRY_JOB, type StatsRegistry } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { appleNotification, createCa, type AppleChain } from './fakes/apple-ca.ts'
import admin from '../../admin/index.ts'
import { PLUGINS, postStripe, provision, stripeEnv, stripeEvent } from './support.ts'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

let t: TestApp
let stats: StatsRegistry
let ca: ReturnType<typeof createCa>
let chain: AppleChain
const ADMIN = { sub: 'admin-1', email: 'admin@example.com' }

const statsProbe = definePlugin({
  name: 'stats-probe',
  setup: (ctx) => {
    stats = ctx.stats
    return {}
  },
})

beforeAll(async () => {
  ca = createCa()
  chain = ca.chain()
  writeFileSync(join(ca.dir, 'root.pem'), chain.root.pem)
  t = await testApp({
    // The admin plugin serves the inbound-event list and replay.
    plugins: [...PLUGINS, admin, statsProbe],
    env: {
      ...stripeEnv(),
      ADMIN_EMAILS: ADMIN.email,
      APPLE_BUNDLE_ID: 'com.example.app',
      APPLE_ROOT_CA_PEM: join(ca.dir, 'root.pem'),
    },
  })
})
afterAll(async () => {
  await t?.close()
  ca?.close()
})

const sub = (user: string, id: string, status = 'active', periodEnd = Math.floor(Date.now() / 1000) + 86400) => ({
  id,
  object: 'subscription',
  customer: `cus_${user}`,
  status,
  livemode: false,
  cancel_at_period_end: false,
  metadata: { user_id: user },
  items: {
    object: 'list',
    data: [{ id: `si_${id}`, price: { id: 'price_monthly_test', product: 'prod_1' }, current_period_end: periodEnd }],
  },
})

/** Makes applying fail (the subscriptions table is away) while `fn` runs. */
async function whileBroken<T>(fn: () => Promise<T>): Promise<T> {
  await t.app.db.sql`alter table billing_subscriptions rename to billing_subscriptions_away`
  try {
    return await fn()
  } finally {
    await t.app.db.sql`alter table billing_subscriptions_away rename to billing_subscriptions`
  }
}

describe('failures', () => {
  it('stores a failed event, answers 5xx without internals, and applies it on redelivery', async () => {
    await provision(t, 'alice')
    const event = stripeEvent('customer.subscription.created', sub('alice', 'sub_fail_1'))
    const res = await whileBroken(() => postStripe(t, event))
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe('INTERNAL_ERROR')
    expect(res.text).not.toContain('billing_subscriptions')
    const [row] = await t.app.db.sql`select status, attempts, error from inbound_events where event_id = ${event.id}`
    expect(row).toMatchObject({ status: 'failed', attempts: 1 })
    expect(row!.error).toContain('billing_subscriptions')
    const [job] = await t.app.db
      .sql`select state, payload from jobs where name = ${RETRY_JOB} order by created_at desc limit 1`
    expect(job).toMatchObject({ state: 'queued' })

    const again = await postStripe(t, event)
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect((await t.as('alice').get('/api/v1/app/billing/status')).body.has_active_subscription).toBe(true)
    // The retry job finds it applied and has nothing to do.
    await t.app.db.sql`update jobs set run_at = now() where name = ${RETRY_JOB}`
    await t.app.jobs.runDue()
    const [after] = await t.app.db.sql`select status, attempts from inbound_events where event_id = ${event.id}`
    expect(after).toEqual({ status: 'applied', attempts: 2 })
  })

  it('applies a failed event through the retry job', async () => {
    await provision(t, 'bob')
    const event = stripeEvent('customer.subscription.created', sub('bob', 'sub_fail_2'))
    expect((await whileBroken(() => postStripe(t, event))).status).toBe(500)
    await t.app.db.sql`update jobs set run_at = now() where name = ${RETRY_JOB} and state = 'queued'`
    await t.app.jobs.runDue()
    const [row] = await t.app.db.sql`select status from inbound_events where event_id = ${event.id}`
    expect(row!.status).toBe('applied')
    expect((await t.as('bob').get('/api/v1/app/billing/status')).body.plan).toBe('pro')
  })

  it('lets admins list events by provider, type and status, and replay a failed one', async () => {
    await provision(t, 'carol')
    const event = stripeEvent('customer.subscription.created', sub('carol', 'sub_fail_3'))
    expect((await whileBroken(() => postStripe(t, event))).status).toBe(500)
    const admin = t.as(ADMIN)
    const failed = await admin.get('/api/v1/admin/webhooks/events?provider=stripe&status=failed')
    expect(failed.status).toBe(200)
    expect(failed.body.items.map((e: { event_id: string }) => e.event_id)).toEqual([event.id])
    expect(failed.body).toMatchObject({ total: 1, skip: 0, limit: 20 })
    const byType = await admin.get('/api/v2/admin/webhooks/events?type=customer.subscription.created')
    expect(byType.body.meta.pagination.total).toBe(3)
    const id = failed.body.items[0].id
    const one = await admin.get(`/api/v1/admin/webhooks/events/${id}`)
    expect(one.body.payload.id).toBe(event.id)

    const replay = await admin.post(`/api/v1/admin/webhooks/events/${id}/replay`)
    expect(replay.status).toBe(200)
    expect(replay.body.status).toBe('applied')
    expect((await t.as('carol').get('/api/v1/app/billing/status')).body.has_active_subscription).toBe(true)
    expect((await admin.post(`/api/v1/admin/webhooks/events/${id}/replay`)).status).toBe(409)
    const [audit] = await t.app.db
      .sql`select action, actor_id, resource_id from audit_logs where action = 'webhook.replay'`
    expect(audit).toEqual({ action: 'webhook.replay', actor_id: ADMIN.sub, resource_id: id })

    expect((await t.as('carol').get('/api/v1/admin/webhooks/events')).status).toBe(403)
    expect((await admin.get('/api/v1/admin/webhooks/events/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    expect((await admin.get('/api/v1/admin/webhooks/events?status=nope')).status).toBe(422)
  })
})

describe('derived plan', () => {
  const apple = async (user: string, type: string, expires: number) => {
    const token = (await t.as(user).get('/api/v1/app/billing/status')).body.app_account_token
    const n = await appleNotification(chain, {
      type,
      transaction: {
        transactionId: `${user}-1`,
        originalTransactionId: `orig-${user}`,
        productId: 'com.example.app.pro',
        expiresDate: expires,
        appAccountToken: token,
      },
    })
    const res = await t.request('POST', '/api/v1/public/webhooks/apple', { body: { signedPayload: n.signedPayload } })
    expect(res.body.status).toBe('applied')
  }

  it('is premium with an active Stripe subscription and an expired Apple one', async () => {
    await provision(t, 'dave')
    await postStripe(t, stripeEvent('customer.subscription.created', sub('dave', 'sub_dave')))
    await apple('dave', 'EXPIRED', Date.now() - 1000)
    const status = (await t.as('dave').get('/api/v1/app/billing/status')).body
    expect(status).toMatchObject({ plan: 'pro', status: 'active', has_active_subscription: true, source: 'stripe' })
    expect(status.subscriptions.map((s: { source: string; status: string }) => [s.source, s.status]).sort()).toEqual([
      ['apple', 'expired'],
      ['stripe', 'active'],
    ])
    const me = await t.as('dave').get('/api/v2/app/users/me')
    expect(me.body.data).toMatchObject({ subscription_plan: 'pro', subscription_status: 'active', is_premium: true })
  })

  it('is free when every subscription has ended', async () => {
    await provision(t, 'erin')
    const created = Math.floor(Date.now() / 1000) - 10
    await postStripe(t, stripeEvent('customer.subscription.created', sub('erin', 'sub_erin'), { created }))
    await postStripe(
      t,
      stripeEvent('customer.subscription.deleted', sub('erin', 'sub_erin', 'canceled'), { created: created + 1 }),
    )
    await apple('erin', 'EXPIRED', Date.now() - 1000)
    expect((await t.as('erin').get('/api/v1/app/billing/status')).body).toMatchObject({
      plan: 'free',
      has_active_subscription: false,
    })
    const me = await t.as('erin').get('/api/v2/app/users/me')
    expect(me.body.data).toMatchObject({ subscription_plan: 'free', is_premium: false })
  })

  it('contributes subscriptions and webhooks to the dashboard stats', async () => {
    const s = (await stats.collect()) as {
      subscriptions: { active: number; by_plan: Record<string, number> }
      webhooks: { total: number; failed: number; pending: number }
    }
    const { users } = (await t.app.db.sql<{ users: number }[]>`select count(*)::int as users from users`)[0]!
    expect(s.subscriptions.active).toBe(4)
    expect(s.subscriptions.by_plan).toEqual({ free: users - 4, pro: 4 })
    const { total } = (await t.app.db.sql<{ total: number }[]>`select count(*)::int as total from inbound_events`)[0]!
    expect(s.webhooks).toEqual({ total, failed: 0, pending: 0 })
  })
})

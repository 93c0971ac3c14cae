/** Two app instances on one database: the same event delivered to both at once applies once; out-of-order deliveries keep the newest state. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { signTestToken } from '../../../core/testing/index.ts'
import { developerNotification, pushBody } from './fakes/google-oidc.ts'
import { postStripe, stripeEnv, stripeEvent, twoApps, type TwoApps } from './support.ts'

let r: TwoApps
const applied: string[] = []

beforeAll(async () => {
  r = await twoApps({ ...stripeEnv(), GOOGLE_PACKAGE_NAME: 'com.example.app' })
  for (const app of [r.a, r.b]) app.events.subscribe('subscription.updated', (p) => void applied.push(p.user_id))
})
afterAll(() => r?.close())

const as = async (user: string) => ({ authorization: `Bearer ${await signTestToken(user)}` })
const statusOf = async (user: string) =>
  (await r.clientA.get('/api/v1/app/billing/status', { headers: await as(user) })).body

function subscription(user: string, id: string, o: { status?: string; cancel?: boolean } = {}) {
  return {
    id,
    object: 'subscription',
    customer: `cus_${user}`,
    status: o.status ?? 'active',
    livemode: false,
    cancel_at_period_end: o.cancel ?? false,
    metadata: { user_id: user },
    items: {
      object: 'list',
      data: [
        {
          id: `si_${id}`,
          price: { id: 'price_monthly_test', product: 'prod_1' },
          current_period_end: Math.floor(Date.now() / 1000) + 86400,
        },
      ],
    },
  }
}

describe('two instances', () => {
  it('applies an event delivered to both instances at once exactly once', async () => {
    await statusOf('alice')
    for (let i = 0; i < 5; i++) {
      const event = stripeEvent('customer.subscription.updated', subscription('alice', 'sub_alice'), {
        created: Math.floor(Date.now() / 1000) + i,
      })
      const results = await Promise.all([
        postStripe(r.clientA, event),
        postStripe(r.clientB, event),
        postStripe(r.clientA, event),
        postStripe(r.clientB, event),
      ])
      expect(results.map((x) => x.status)).toEqual([200, 200, 200, 200])
      expect(results.filter((x) => x.body.duplicate === false).length).toBe(1)
      const { n } = (
        await r.a.db.sql<{ n: number }[]>`select count(*)::int as n from inbound_events where event_id = ${event.id}`
      )[0]!
      expect(n).toBe(1)
    }
    const { attempts } = (
      await r.a.db.sql<
        { attempts: number }[]
      >`select sum(attempts)::int as attempts from inbound_events where provider = 'stripe'`
    )[0]!
    expect(attempts).toBe(5)
  })

  it('keeps the newest state when a newer and an older update race on different instances', async () => {
    await statusOf('bob')
    const t0 = Math.floor(Date.now() / 1000) - 100
    await postStripe(
      r.clientA,
      stripeEvent('customer.subscription.created', subscription('bob', 'sub_bob'), { created: t0 }),
    )
    for (let i = 1; i <= 5; i++) {
      const newer = stripeEvent(
        'customer.subscription.updated',
        subscription('bob', 'sub_bob', { cancel: i % 2 === 1 }),
        { created: t0 + 2 * i },
      )
      const older = stripeEvent(
        'customer.subscription.updated',
        subscription('bob', 'sub_bob', { cancel: i % 2 === 0 }),
        { created: t0 + 2 * i - 1 },
      )
      await Promise.all([postStripe(r.clientA, newer), postStripe(r.clientB, older)])
      expect((await statusOf('bob')).cancel_at_period_end).toBe(i % 2 === 1)
    }
  })

  it('links a purchase on one instance while its notification arrives on the other: applied once either way', async () => {
    await statusOf('carol')
    const push = pushBody(developerNotification({ type: 4, token: 'token-carol' }))
    const [notified, linked] = await Promise.all([
      r.clientB.post('/api/v1/public/webhooks/google', push),
      r.clientA.post(
        '/api/v1/app/billing/mobile/link',
        { platform: 'google', purchase_token: 'token-carol', product_id: 'pro_monthly' },
        { headers: await as('carol') },
      ),
    ])
    expect(notified.status).toBe(200)
    expect(linked.status).toBe(200)
    expect(await statusOf('carol')).toMatchObject({ plan: 'pro', has_active_subscription: true })
    const [row] = await r.a.db.sql`select status, attempts from inbound_events where provider = 'google'`
    expect(row).toEqual({ status: 'applied', attempts: expect.any(Number) })
  })
})

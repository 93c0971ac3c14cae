/** Test helpers: a billing test app (users + billing), Stripe env for the fake, signed webhook posts, two app instances on one database. */
import Stripe from 'stripe'
import { createApp, CORE_MIGRATIONS, type App } from '../../../core/index.ts'
import { openDatabase } from '../../../core/db/index.ts'
import { createTestDatabase } from '../../../core/testing/database.ts'
import { clientFor, testApp, TEST_JWT_SECRET, type Client, type TestApp } from '../../../core/testing/index.ts'
import users from '../../users/index.ts'
import billing from '../index.ts'
import type { FakeStripe } from './fakes/stripe-api.ts'

export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdefghijklmnop'
export const PLUGINS = [users, billing]

export const stripeEnv = (fake?: FakeStripe): Record<string, string> => ({
  STRIPE_SECRET_KEY: fake?.key ?? 'sk_test_unused0123456789',
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  STRIPE_PRICE_MONTHLY: 'price_monthly_test',
  STRIPE_PRICE_YEARLY: 'price_yearly_test',
  STRIPE_MAX_NETWORK_RETRIES: '0',
  ...(fake ? { STRIPE_API_BASE: fake.url } : {}),
})

export const billingApp = (env: Record<string, string> = {}) => testApp({ plugins: PLUGINS, env })

/** A Stripe event object as Stripe posts it. */
export function stripeEvent(type: string, object: Record<string, unknown>, o: { id?: string; created?: number } = {}) {
  return {
    id: o.id ?? `evt_${crypto.randomUUID().replace(/-/g, '')}`,
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: o.created ?? Math.floor(Date.now() / 1000),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  }
}

/**
 * Posts a payload to the Stripe webhook, signed with the official SDK's test header. On Bun the SDK
 * loads its worker build, whose SubtleCrypto signer is async-only: generateTestHeaderStringAsync.
 */
export async function postStripe(
  client: Client,
  payload: unknown,
  o: { secret?: string; timestamp?: number; body?: string } = {},
) {
  const raw = JSON.stringify(payload)
  const header = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload: raw,
    secret: o.secret ?? WEBHOOK_SECRET,
    timestamp: o.timestamp,
  })
  return client.request('POST', '/api/v1/public/webhooks/stripe', {
    raw: o.body ?? raw,
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
  })
}

export async function countEvents(t: { app: App }, provider?: string) {
  const sql = t.app.db.sql
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from inbound_events where ${provider ? sql`provider = ${provider}` : sql`true`}`
  return row!.n
}

/** Makes sure a user row exists (as their first authenticated request would). */
export const provision = (t: TestApp, user: string) => t.as(user).get('/api/v1/app/billing/status')

export interface TwoApps {
  a: App
  b: App
  clientA: Client
  clientB: Client
  close(): Promise<void>
}

/** Two app instances on one database: a second pool on a real server, the same single connection on PGlite. */
export async function twoApps(env: Record<string, string>): Promise<TwoApps> {
  const database = await createTestDatabase({
    migrations: [CORE_MIGRATIONS, ...PLUGINS.map((p) => ({ namespace: p.name, dir: p.migrations! }))],
  })
  const second = database.url ? await openDatabase({ url: database.url, max: 5 }) : undefined
  const full = { AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', DATA_DIR: '.data-test', ...env }
  const a = await createApp({ plugins: PLUGINS, database, env: full, workers: false })
  const b = await createApp({
    plugins: PLUGINS,
    database: second ?? { ...database, close: async () => {} },
    env: full,
    workers: false,
  })
  return {
    a,
    b,
    clientA: clientFor(a),
    clientB: clientFor(b),
    async close() {
      await b.stop()
      await a.stop()
      await second?.close()
      await database.close()
    },
  }
}

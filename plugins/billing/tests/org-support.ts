/** Test helpers of organization billing: users, email, organizations, feature flags and billing on the local Stripe fake. */
import type { TestApp } from '../../../core/testing/index.ts'
import featureFlags from '../../feature-flags/index.ts'
import { orgsApp, type OrgTestApp } from '../../organizations/tests/support.ts'
import billing from '../index.ts'
import { SEAT_SYNC_JOB } from '../orgs/seats.ts'
import type { FakeStripe, RecordedRequest } from './fakes/stripe-api.ts'
import { postStripe, stripeEnv, stripeEvent } from './support.ts'

export const ADMIN = { sub: 'org-billing-admin', email: 'org-billing-admin@example.com' }

export const orgBillingApp = (fake: FakeStripe, env: Record<string, string> = {}): Promise<OrgTestApp> =>
  orgsApp({
    extra: [featureFlags, billing],
    env: { ...stripeEnv(fake), BILLING_PLAN_MAP: 'price_monthly_test=team', ADMIN_EMAILS: ADMIN.email, ...env },
  })

/** The X-Organization-ID header that makes `org` the active organization. */
export const inOrg = (org: string): { headers: Record<string, string> } => ({ headers: { 'x-organization-id': org } })

/** The seat updates the fake received, in order. */
export const seatCalls = (fake: FakeStripe): RecordedRequest[] =>
  fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/subscription_items/'))

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Seat jobs still to run (queued, running or waiting for a retry). */
async function pendingSeatJobs(t: TestApp) {
  const [row] = await t.app.db.sql<{ n: number }[]>`
    select count(*)::int as n from jobs where name = ${SEAT_SYNC_JOB} and state in ('queued', 'running', 'failed')`
  return row!.n
}

/** Runs due jobs until no seat job is left (membership changes commit them; webhook follow-ups enqueue more). */
export async function settleSeats(t: TestApp) {
  for (let i = 0; i < 100; i++) {
    await sleep(i < 3 ? 30 : 60)
    await t.app.jobs.runDue()
    if (i >= 2 && (await pendingSeatJobs(t)) === 0) return
  }
  throw new Error('seat jobs did not settle')
}

/**
 * `owner` checks out for `org` (as the organization), then Stripe reports the subscription it
 * created: an active subscription of `seats` seats with `org_id` in its metadata.
 */
export async function subscribeOrg(t: TestApp, fake: FakeStripe, org: string, owner: string) {
  const checkout = await t
    .as(owner)
    .post(
      '/api/v1/app/billing/checkout',
      { plan: 'monthly', success_url: 'https://app.example.com/ok', cancel_url: 'https://app.example.com/no' },
      inOrg(org),
    )
  if (checkout.status !== 200) throw new Error(`checkout: ${checkout.status} ${checkout.text}`)
  const session = fake.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!
  const seats = Number(session.form.line_items[0].quantity)
  const sub = fake.addSubscription(session.form.customer, 'price_monthly_test', { org_id: org }, 'active', seats)
  const res = await postStripe(t, stripeEvent('customer.subscription.created', sub))
  if (res.status !== 200) throw new Error(`webhook: ${res.status} ${res.text}`)
  await settleSeats(t)
  return { sub, session, seats }
}

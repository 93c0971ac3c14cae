/**
 * Seats with two replicas on one database and one Redis (TEST_REDIS_URL): both replicas hear every
 * membership event (broadcast), yet each change makes exactly one seat job, the one its
 * transaction committed (docs/jobs-and-events.md#durable-events), and Stripe is updated once per
 * change while both replicas run jobs at the same time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import email from '../../email/index.ts'
import featureFlags from '../../feature-flags/index.ts'
import { createOrganizationsPlugin } from '../../organizations/index.ts'
import { addMember, asTestApp, createOrg } from '../../organizations/tests/support.ts'
import users from '../../users/index.ts'
import { startReplicas, until, type Replicas } from '../../websocket/tests/helpers.ts'
import billing from '../index.ts'
import { SEAT_SYNC_JOB } from '../orgs/seats.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { seatCalls, settleSeats, subscribeOrg } from './org-support.ts'
import { stripeEnv } from './support.ts'

const url = process.env.TEST_REDIS_URL
// Other test processes may share this Redis: every user id of this run is unique.
const run = crypto.randomUUID().slice(0, 8)
const u = (name: string) => `${name}-${run}`

describe.skipIf(!url)('organization seats across two replicas sharing Redis', () => {
  let r: Replicas
  let fake: FakeStripe

  beforeAll(async () => {
    fake = startFakeStripe()
    r = await startReplicas(2, {
      plugins: [users, email, createOrganizationsPlugin(), featureFlags, billing],
      env: { REDIS_URL: url!, ...stripeEnv(fake), BILLING_PLAN_MAP: 'price_monthly_test=team' },
    })
  }, 30_000)
  afterAll(async () => {
    await r?.close()
    fake?.close()
  })

  it('one seat job and one Stripe update per membership change, whichever replica made it', async () => {
    const [a, b] = [asTestApp(r.apps[0]!.app), asTestApp(r.apps[1]!.app)]
    const owner = u('owner')
    const org = await createOrg(a, owner)
    const heard = [0, 0]
    r.apps.forEach(({ app }, i) => {
      const count = (p: { org_id: string }) => void (p.org_id === org && heard[i]!++)
      app.events.subscribe('org.member_added', count)
      app.events.subscribe('org.member_removed', count)
    })
    const { sub } = await subscribeOrg(a, fake, org, owner)
    const seatJobs = async () =>
      (
        await a.app.db.sql<{ n: number }[]>`
          select count(*)::int as n from jobs where name = ${SEAT_SYNC_JOB} and payload->>'org_id' = ${org}`
      )[0]!.n
    const jobsBefore = await seatJobs()
    const callsBefore = seatCalls(fake).length

    /** Both replicas run their due jobs at once, then whatever is left settles. */
    const runBoth = async () => {
      await Promise.all([a.app.jobs.runDue(), b.app.jobs.runDue()])
      await settleSeats(a)
    }
    await addMember(a, org, owner, u('first'), 'member')
    await runBoth()
    await addMember(b, org, owner, u('second'), 'admin')
    await runBoth()
    expect((await b.as(owner).delete(`/api/v1/app/orgs/${org}/members/${u('first')}`)).status).toBe(204)
    await runBoth()

    // Each replica heard all three changes: a subscriber on the bus would have made two jobs each.
    await until(() => heard[0] === 3 && heard[1] === 3, 2000, 'both replicas hear every change')
    expect(await seatJobs()).toBe(jobsBefore + 3)
    expect(
      seatCalls(fake)
        .slice(callsBefore)
        .map((c) => c.form.quantity),
    ).toEqual(['2', '3', '2'])
    expect((sub.items.data[0] as { quantity: number }).quantity).toBe(2)
  })
})

/**
 * Seats follow members (docs/plugins/billing.md#organizations-and-seats): every membership change
 * sets the Stripe subscription item's quantity to the member count, exactly once per change, also
 * when members join at the same time; a replayed job calls nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { OrgTestApp } from '../../organizations/tests/support.ts'
import { addMember, createOrg, invitationEmail } from '../../organizations/tests/support.ts'
import billing from '../index.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { orgBillingApp, seatCalls, settleSeats, subscribeOrg } from './org-support.ts'

let fake: FakeStripe
let t: OrgTestApp

beforeAll(async () => {
  fake = startFakeStripe()
  t = await orgBillingApp(fake, { BILLING_SEAT_PRORATION: 'always_invoice' })
})
afterAll(async () => {
  await t?.close()
  fake?.close()
})

const itemOf = (sub: Record<string, any>) => sub.items.data[0] as { id: string; quantity: number }

describe('organization seats', () => {
  it('adding and removing a member updates the quantity once per change, with the configured proration', async () => {
    const org = await createOrg(t, 'seat-owner')
    await addMember(t, org, 'seat-owner', 'seat-admin', 'admin')
    const { sub, seats } = await subscribeOrg(t, fake, org, 'seat-owner')
    expect(seats).toBe(2)
    // The subscription's own webhook re-checks the seats: already right, nothing is called.
    expect(seatCalls(fake)).toHaveLength(0)

    await addMember(t, org, 'seat-admin', 'seat-member', 'member')
    await settleSeats(t)
    let calls = seatCalls(fake)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.path).toBe(`/v1/subscription_items/${itemOf(sub).id}`)
    expect(calls[0]!.form).toMatchObject({ quantity: '3', proration_behavior: 'always_invoice' })
    const key = calls[0]!.headers['idempotency-key']!
    expect(key).toStartWith(`omnistack-seats-${sub.id}-3-`)
    expect(itemOf(sub).quantity).toBe(3)

    const removed = await t.as('seat-admin').delete(`/api/v1/app/orgs/${org}/members/seat-member`)
    expect(removed.status).toBe(204)
    await settleSeats(t)
    calls = seatCalls(fake)
    expect(calls).toHaveLength(2)
    expect(calls[1]!.form).toMatchObject({ quantity: '2' })
    expect(itemOf(sub).quantity).toBe(2)

    // Leaving is a removal too.
    await addMember(t, org, 'seat-owner', 'seat-leaver', 'member')
    await settleSeats(t)
    expect((await t.as('seat-leaver').post(`/api/v1/app/orgs/${org}/leave`)).status).toBe(204)
    await settleSeats(t)
    expect(seatCalls(fake).map((c) => c.form.quantity)).toEqual(['3', '2', '3', '2'])
  })

  it('a replayed job, or one for a change already covered, calls Stripe no more', async () => {
    const org = await createOrg(t, 'replay-owner')
    await subscribeOrg(t, fake, org, 'replay-owner')
    const before = seatCalls(fake).length
    await addMember(t, org, 'replay-owner', 'replay-member', 'member')
    await settleSeats(t)
    expect(seatCalls(fake).length).toBe(before + 1)
    const sync = t.app.service(billing).seatSync!
    const job = { org_id: org, change_id: '6b0f7c1e-0000-4000-8000-000000000001' }
    await sync(job)
    await sync(job)
    await Promise.all([1, 2, 3].map((i) => sync({ org_id: org, change_id: `replay-${i}` })))
    expect(seatCalls(fake).length).toBe(before + 1)
  })

  it('five members accepting at once end at the right quantity, one update per distinct quantity', async () => {
    const org = await createOrg(t, 'rush-owner')
    const { sub } = await subscribeOrg(t, fake, org, 'rush-owner')
    const before = seatCalls(fake).length
    const users = [1, 2, 3, 4, 5].map((i) => `rush-${i}`)
    const tokens: string[] = []
    for (const u of users) {
      const inv = await t.as('rush-owner').post(`/api/v1/app/orgs/${org}/invitations`, {
        email: `${u}@example.com`,
        role: 'member',
      })
      expect(inv.status).toBe(201)
      tokens.push((await invitationEmail(t, `${u}@example.com`))!.token)
    }
    const accepted = await Promise.all(users.map((u, i) => t.as(u).post(`/api/v1/app/invitations/${tokens[i]}/accept`)))
    expect(accepted.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    await settleSeats(t)
    const calls = seatCalls(fake).slice(before)
    const quantities = calls.map((c) => c.form.quantity)
    expect(calls.length).toBeGreaterThanOrEqual(1)
    expect(new Set(quantities).size).toBe(quantities.length)
    expect(quantities.at(-1)).toBe('6')
    expect(itemOf(sub).quantity).toBe(6)
    const members = await t.as('rush-owner').get(`/api/v1/app/orgs/${org}/members`)
    expect(members.body.total).toBe(6)
  })

  it('five seat jobs running at once for one change update Stripe once', async () => {
    const org = await createOrg(t, 'race-owner')
    const { sub } = await subscribeOrg(t, fake, org, 'race-owner')
    // A member added while no job runs yet (its durable seat job then runs together with four more).
    await addMember(t, org, 'race-owner', 'race-member', 'member')
    const before = seatCalls(fake).length
    const sync = t.app.service(billing).seatSync!
    await Promise.all([1, 2, 3, 4, 5].map((i) => sync({ org_id: org, change_id: `race-${i}` })))
    await settleSeats(t)
    const calls = seatCalls(fake).slice(before)
    expect(calls.map((c) => c.form.quantity)).toEqual(['2'])
    expect(itemOf(sub).quantity).toBe(2)
  })
})

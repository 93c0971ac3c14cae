/**
 * A deleted organization's subscription ends with it
 * (docs/plugins/billing.md#organizations-and-seats): billing's durable `org.deleted` subscriber
 * cancels it at Stripe once, with an Idempotency-Key, and stores Stripe's answer. A rerun calls Stripe no more; a rerun after a call that went through but
 * was not stored reads the subscription back; a Stripe failure leaves the job to retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { OrgTestApp } from '../../organizations/tests/support.ts'
import { createOrg } from '../../organizations/tests/support.ts'
import { ORG_CANCEL_JOB } from '../orgs/cancel.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { orgBillingApp, subscribeOrg } from './org-support.ts'

let fake: FakeStripe
let t: OrgTestApp

beforeAll(async () => {
  fake = startFakeStripe()
  t = await orgBillingApp(fake)
})
afterAll(async () => {
  await t?.close()
  fake?.close()
})

const cancelsOf = (subId: string) =>
  fake.requests.filter((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${subId}`)

/** The cancellation job of `org`: its state and attempts. */
async function cancelJob(org: string) {
  const [job] = await t.app.db.sql<{ id: string; state: string; attempts: number; last_error: string | null }[]>`
    select id, state, attempts, last_error from jobs where name = ${ORG_CANCEL_JOB} and payload->>'org_id' = ${org}`
  return job
}

const storedStatus = async (org: string) =>
  (await t.app.db.sql<{ status: string }[]>`select status from billing_org_subscriptions where org_id = ${org}`)[0]
    ?.status

async function deleteOrg(org: string, owner: string) {
  expect((await t.as(owner).delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
}

describe('deleting an organization that holds a subscription', () => {
  it('cancels it at Stripe once, with an Idempotency-Key, and stores the answer', async () => {
    const org = await createOrg(t, 'end-owner')
    const { sub } = await subscribeOrg(t, fake, org, 'end-owner')
    await deleteOrg(org, 'end-owner')
    // Committed with the deletion; nothing called Stripe yet.
    expect((await cancelJob(org))!.state).toBe('queued')
    expect(cancelsOf(sub.id)).toHaveLength(0)

    await t.app.jobs.runDue()
    expect((await cancelJob(org))!.state).toBe('completed')
    const calls = cancelsOf(sub.id)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.headers['idempotency-key']).toBe(`omnistack-org-cancel-${sub.id}`)
    expect(fake.subscriptions.get(sub.id)!.status).toBe('canceled')
    expect(await storedStatus(org)).toBe('canceled')

    // A rerun (a job is at least once) finds the subscription over and calls nothing.
    await t.app.jobs.enqueue(ORG_CANCEL_JOB, { org_id: org, id: org })
    await t.app.jobs.runDue()
    expect(cancelsOf(sub.id)).toHaveLength(1)
  })

  it('a rerun after a cancellation Stripe applied but we did not store reads it back', async () => {
    const org = await createOrg(t, 'lost-owner')
    const { sub } = await subscribeOrg(t, fake, org, 'lost-owner')
    // An earlier attempt's call went through; its answer never reached the store.
    fake.subscriptions.get(sub.id)!.status = 'canceled'
    await deleteOrg(org, 'lost-owner')
    await t.app.jobs.runDue()
    // Stripe refuses to cancel twice (its keys hold for POST requests only): read back, stored.
    expect(cancelsOf(sub.id)).toHaveLength(1)
    expect((await cancelJob(org))!.state).toBe('completed')
    expect(await storedStatus(org)).toBe('canceled')
  })

  it('a Stripe failure leaves the job failed, to be retried; the retry cancels', async () => {
    const org = await createOrg(t, 'flaky-owner')
    const { sub } = await subscribeOrg(t, fake, org, 'flaky-owner')
    await deleteOrg(org, 'flaky-owner')
    // The cancellation and the read-back both fail.
    fake.fail(500, 2)
    await t.app.jobs.runDue()
    const failed = (await cancelJob(org))!
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 })
    expect(failed.last_error).toContain('Stripe subscription cancellation failed')
    expect(await storedStatus(org)).toBe('active')

    await t.app.db.sql`update jobs set run_at = now() where id = ${failed.id}`
    await t.app.jobs.runDue()
    expect((await cancelJob(org))!).toMatchObject({ state: 'completed', attempts: 2 })
    expect(cancelsOf(sub.id)).toHaveLength(2)
    expect(cancelsOf(sub.id).every((c) => c.headers['idempotency-key'] === `omnistack-org-cancel-${sub.id}`)).toBe(true)
    expect(await storedStatus(org)).toBe('canceled')
  })

  it('an organization without a subscription: the job completes and calls nothing', async () => {
    const org = await createOrg(t, 'free-owner')
    const before = fake.requests.length
    await deleteOrg(org, 'free-owner')
    await t.app.jobs.runDue()
    expect((await cancelJob(org))!.state).toBe('completed')
    expect(fake.requests.length).toBe(before)
  })
})

/**
 * Durable organization events (docs/plugins/organizations.md#events,
 * docs/jobs-and-events.md#durable-events): each membership change and each deletion enqueues one
 * job per durable subscriber in the transaction of the change, with the event's payload; a refused
 * change enqueues nothing, and a change whose transaction fails after the enqueue leaves no job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin } from '../../../core/index.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from './support.ts'

const JOB = 'org-listener.record'
const seen: unknown[] = []

/** A plugin subscribing durably to every durable organization event; it records the payloads. */
const listener = definePlugin({
  name: 'org-listener',
  setup: ({ jobs }) => {
    jobs.subscribeDurable(
      ['org.deleted', 'org.member_added', 'org.member_removed', 'org.role_changed'],
      JOB,
      (payload) => void seen.push(payload),
    )
    return {}
  },
})

let t: OrgTestApp
beforeAll(async () => {
  t = await orgsApp({ extra: [listener] })
})
afterAll(() => t?.close())

/** The payloads of the listener's jobs for `org`, unordered (one transaction has one time). */
async function queued(org: string) {
  const rows = await t.app.db.sql<{ payload: Record<string, string> }[]>`
    select payload from jobs where name = ${JOB} and payload->>'org_id' = ${org}`
  return rows.map((r) => r.payload)
}

/** Comparable whatever the key order (jsonb keeps its own). */
const sorted = (items: unknown[]) =>
  items.map((i) => JSON.stringify(Object.entries(i as object).sort(([a], [b]) => a.localeCompare(b)))).sort()

describe('durable organization events', () => {
  it('each membership change and the deletion enqueue one job per subscriber; refusals none', async () => {
    const org = await createOrg(t, 'dur-owner')
    // Creating an organization is no durable event.
    expect(await queued(org)).toEqual([])

    await addMember(t, org, 'dur-owner', 'dur-a', 'member')
    const expected: unknown[] = [{ org_id: org, user_id: 'dur-a', role: 'member' }]
    expect(sorted(await queued(org))).toEqual(sorted(expected))

    const promote = { role: 'admin' }
    expect((await t.as('dur-owner').patch(`/api/v1/app/orgs/${org}/members/dur-a`, promote)).status).toBe(200)
    expected.push({ org_id: org, user_id: 'dur-a', role: 'admin', previous_role: 'member' })
    // The same role again changes nothing, and announces nothing.
    expect((await t.as('dur-owner').patch(`/api/v1/app/orgs/${org}/members/dur-a`, promote)).status).toBe(200)
    expect(sorted(await queued(org))).toEqual(sorted(expected))

    const moved = await t.as('dur-owner').post(`/api/v1/app/orgs/${org}/transfer`, { user_id: 'dur-a' })
    expect(moved.status).toBe(200)
    expected.push(
      { org_id: org, user_id: 'dur-a', role: 'owner', previous_role: 'admin' },
      { org_id: org, user_id: 'dur-owner', role: 'admin', previous_role: 'owner' },
    )
    expect((await t.as('dur-a').delete(`/api/v1/app/orgs/${org}/members/dur-owner`)).status).toBe(204)
    expected.push({ org_id: org, user_id: 'dur-owner' })
    await addMember(t, org, 'dur-a', 'dur-b', 'billing')
    expect((await t.as('dur-b').post(`/api/v1/app/orgs/${org}/leave`)).status).toBe(204)
    expected.push({ org_id: org, user_id: 'dur-b', role: 'billing' }, { org_id: org, user_id: 'dur-b' })
    expect(sorted(await queued(org))).toEqual(sorted(expected))

    // Refused inside the transaction: the last owner neither leaves nor is demoted.
    expect((await t.as('dur-a').post(`/api/v1/app/orgs/${org}/leave`)).status).toBe(409)
    const demote = await t.as('dur-a').patch(`/api/v1/app/orgs/${org}/members/dur-a`, { role: 'member' })
    expect(demote.status).toBe(409)
    expect(await queued(org)).toHaveLength(expected.length)

    expect((await t.as('dur-a').delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
    expected.push({ org_id: org, id: org })
    expect(sorted(await queued(org))).toEqual(sorted(expected))

    // The subscriber ran each exactly once (some during the invitation steps' job runs).
    await t.app.jobs.runDue()
    await t.app.jobs.runDue()
    const mine = seen.filter((p) => (p as { org_id: string }).org_id === org)
    expect(sorted(mine)).toEqual(sorted(expected))
  })

  it('a change whose transaction fails after its enqueue leaves no job, and no change', async () => {
    const org = await createOrg(t, 'rb-owner')
    await addMember(t, org, 'rb-owner', 'rb-heir', 'admin')
    const before = await queued(org)
    // The transfer's own audit entry, its last write, fails: after both role changes were enqueued.
    const sql = t.app.db.sql
    await sql.unsafe(`create or replace function omnistack_test_fail_transfer() returns trigger
      language plpgsql as $$ begin
        if new.action = 'org.transfer' then raise exception 'injected failure'; end if;
        return new;
      end $$`)
    await sql.unsafe(`create trigger omnistack_test_fail_transfer before insert on audit_logs
      for each row execute function omnistack_test_fail_transfer()`)
    try {
      const moved = await t
        .as('rb-owner')
        .post(`/api/v1/app/orgs/${org}/transfer`, { user_id: 'rb-heir' }, { validate: false })
      expect(moved.status).toBe(500)
    } finally {
      await sql.unsafe('drop trigger omnistack_test_fail_transfer on audit_logs')
    }
    expect(sorted(await queued(org))).toEqual(sorted(before))
    const members = await t.as('rb-owner').get(`/api/v1/app/orgs/${org}/members`)
    const roles = Object.fromEntries(members.body.items.map((m: any) => [m.user_id, m.role]))
    expect(roles).toEqual({ 'rb-owner': 'owner', 'rb-heir': 'admin' })

    // Without the fault the same transfer commits with its two jobs.
    const moved = await t.as('rb-owner').post(`/api/v1/app/orgs/${org}/transfer`, { user_id: 'rb-heir' })
    expect(moved.status).toBe(200)
    expect(await queued(org)).toHaveLength(before.length + 2)
  })
})

/** Clerk and Supabase on the core's inbound pipeline: listed with billing's events, applied once, failures stored and retried. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'svix'
import { INBOUND_RETRY_JOB } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import admin from '../../admin/index.ts'
import billing from '../../billing/index.ts'
import users from '../../users/index.ts'
import identityWebhooks from '../index.ts'

const SECRET = `whsec_${randomBytes(24).toString('base64')}`
const SUPABASE_SECRET = 'supabase-webhook-secret-0123456789'
const ROOT = { sub: 'u-root', email: 'root@corp.example' }
let t: TestApp
beforeAll(async () => {
  t = await testApp({
    plugins: [users, admin, billing, identityWebhooks],
    env: { CLERK_WEBHOOK_SECRET: SECRET, SUPABASE_WEBHOOK_SECRET: SUPABASE_SECRET, SUPERADMIN_EMAILS: ROOT.email },
  })
})
afterAll(() => t?.close())

const clerkUser = (id: string, updatedAt: number, first = 'Example') => ({
  id,
  object: 'user',
  email_addresses: [{ id: 'idn_primary', email_address: `${id}@example.org` }],
  primary_email_address_id: 'idn_primary',
  first_name: first,
  last_name: 'Person',
  updated_at: updatedAt,
})
const event = (type: string, data: Record<string, unknown>) => ({
  data,
  object: 'event',
  type,
  timestamp: Date.now(),
  instance_id: 'ins_test',
})

function send(payload: unknown, id = `msg_${randomBytes(6).toString('hex')}`) {
  const at = new Date()
  const raw = JSON.stringify(payload)
  return t.request('POST', '/api/v1/public/webhooks/clerk', {
    raw,
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': new Webhook(SECRET).sign(id, at, raw),
    },
  })
}
const user = async (id: string) => (await t.app.db.sql`select * from users where id = ${id}`)[0]

describe('identity deliveries in the inbound pipeline', () => {
  it('lists a Clerk delivery in /admin/webhooks/events with provider clerk, and applies a redelivery once', async () => {
    const id = 'msg_inbound_once'
    const payload = event('user.created', clerkUser('user_inbound', 1_700_000_000_000))
    expect((await send(payload, id)).body).toEqual({ received: true, outcome: 'applied' })
    await t.as('user_inbound').patch('/api/v1/app/users/me', { full_name: 'Edited Locally' })
    const again = await send(payload, id)
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ received: true, outcome: 'duplicate' })
    expect((await user('user_inbound'))!.full_name).toBe('Edited Locally')

    const list = await t.as(ROOT).get('/api/v1/admin/webhooks/events?provider=clerk&type=user.created')
    expect(list.status).toBe(200)
    const mine = list.body.items.filter((e: { event_id: string }) => e.event_id === id)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({
      provider: 'clerk',
      type: 'user.created',
      status: 'applied',
      subject: 'user_inbound',
      user_id: 'user_inbound',
      attempts: 1,
    })
    const one = await t.as(ROOT).get(`/api/v1/admin/webhooks/events/${mine[0].id}`)
    expect(one.body.payload.data.id).toBe('user_inbound')
    // The plugin's old table is gone (migration 0002): inbound_events is the only store.
    expect(
      await t.app.db.sql`select 1 from information_schema.tables where table_name = 'identity_webhook_events'`,
    ).toHaveLength(0)
  })

  it('lists Supabase deliveries too, and counts webhooks once on the dashboard', async () => {
    const res = await t.request('POST', '/api/v1/public/webhooks/supabase', {
      raw: JSON.stringify({
        type: 'INSERT',
        table: 'users',
        schema: 'auth',
        record: { id: 'supa-1', email: 's@example.com', updated_at: '2026-01-01T00:00:00Z' },
        old_record: null,
      }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SUPABASE_SECRET}` },
    })
    expect(res.body.outcome).toBe('applied')
    const list = await t.as(ROOT).get('/api/v1/admin/webhooks/events?provider=supabase&status=applied')
    expect(list.body.items.map((e: { type: string; user_id: string }) => [e.type, e.user_id])).toEqual([
      ['auth.users.INSERT', 'supa-1'],
    ])
    const stats = (await t.as(ROOT).get('/api/v1/admin/dashboard/stats')).body.webhooks
    const [{ total }] = (await t.app.db.sql`select count(*)::int as total from inbound_events`) as unknown as [
      { total: number },
    ]
    expect(stats.total).toBe(total)
  })

  it('stores a failed delivery as failed, answers 500, and the retry job applies it', async () => {
    await send(event('user.created', clerkUser('user_fails', 1_700_000_000_000)))
    await t.app.db.sql.unsafe(`
      create or replace function test_explode() returns trigger language plpgsql as $$
      begin if new.full_name = 'Explode Person' then raise exception 'exploded on purpose'; end if; return new; end $$;
      create trigger test_explode before update on users for each row execute function test_explode();`)
    const id = 'msg_inbound_fails'
    const res = await send(event('user.updated', clerkUser('user_fails', 1_700_000_100_000, 'Explode')), id)
    expect(res.status).toBe(500)
    const [row] = await t.app.db
      .sql`select id, status, error, attempts from inbound_events where provider = 'clerk' and event_id = ${id}`
    expect(row).toMatchObject({ status: 'failed', attempts: 1 })
    expect(row!.error).toContain('exploded on purpose')
    expect((await user('user_fails'))!.full_name).toBe('Example Person')
    const [job] = await t.app.db
      .sql`select state, payload from jobs where name = ${INBOUND_RETRY_JOB} order by created_at desc limit 1`
    expect(job).toMatchObject({ state: 'queued', payload: { id: row!.id } })

    await t.app.db.sql.unsafe('drop trigger test_explode on users; drop function test_explode();')
    await t.app.db.sql`update jobs set run_at = now() where name = ${INBOUND_RETRY_JOB}`
    await t.app.jobs.runDue()
    const [after] = await t.app.db.sql`select status, attempts from inbound_events where id = ${row!.id}`
    expect(after).toMatchObject({ status: 'applied', attempts: 2 })
    expect((await user('user_fails'))!.full_name).toBe('Explode Person')
    // A redelivery now is a duplicate: acknowledged, not applied again.
    expect(
      (await send(event('user.updated', clerkUser('user_fails', 1_700_000_100_000, 'Explode')), id)).body.outcome,
    ).toBe('duplicate')
  })
})

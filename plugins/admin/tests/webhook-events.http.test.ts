/** /admin/webhooks/events: the core's inbound events of any provider, listed, filtered, shown and replayed by admins. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin, type InboundPipeline } from '../../../core/index.ts'
import type { TestApp } from '../../../core/testing/index.ts'
import { adminApp, BOSS } from './support.ts'

let t: TestApp
let inbound: InboundPipeline
/** While true the fixture provider's applier throws (a provider whose effect cannot be applied now). */
let broken = false

/** A provider as a plugin would register one (billing, identity webhooks): applies by recording the event. */
const provider = definePlugin({
  name: 'inbound-fixture',
  setup: (ctx) => {
    inbound = ctx.inbound
    inbound.register('acme', async (ev) => {
      if (broken) throw new Error('acme store unavailable')
      return ev.type === 'noise' ? { status: 'ignored', note: 'not relevant' } : { status: 'applied', userId: null }
    })
    return {}
  },
})

const deliver = (eventId: string, type = 'order.paid') =>
  inbound.receive({ provider: 'acme', eventId, type, payload: { id: eventId, secret_field: 'kept' } })

beforeAll(async () => {
  t = await adminApp({ plugins: [provider] })
  // Newest first is by received_at, whose clock ticks in milliseconds on PGlite: keep them apart.
  await deliver('evt_1')
  await Bun.sleep(2)
  await deliver('evt_2', 'noise')
  await Bun.sleep(2)
  broken = true
  await deliver('evt_3').catch(() => undefined)
  broken = false
})
afterAll(() => t?.close())

describe('inbound webhook events', () => {
  it('lists every event newest first, filtered by provider, type and status', async () => {
    const admin = t.as(BOSS)
    const all = await admin.get('/api/v1/admin/webhooks/events?provider=acme')
    expect(all.status).toBe(200)
    expect(all.body).toMatchObject({ total: 3, skip: 0, limit: 20 })
    expect(all.body.items.map((e: { event_id: string }) => e.event_id)).toEqual(['evt_3', 'evt_2', 'evt_1'])
    // The list leaves payloads out (they can be large); one event has it.
    expect(all.body.items[0].payload).toBeUndefined()
    expect(
      (await admin.get('/api/v1/admin/webhooks/events?status=ignored')).body.items.map(
        (e: { event_id: string }) => e.event_id,
      ),
    ).toEqual(['evt_2'])
    expect((await admin.get('/api/v1/admin/webhooks/events?type=order.paid')).body.total).toBe(2)
    expect((await admin.get('/api/v1/admin/webhooks/events?provider=other')).body.total).toBe(0)
    expect((await admin.get('/api/v2/admin/webhooks/events?provider=acme&limit=1')).body.meta.pagination).toMatchObject(
      { total: 3, limit: 1 },
    )
  })

  it('shows one event with its payload and error', async () => {
    const admin = t.as(BOSS)
    const [failed] = (await admin.get('/api/v1/admin/webhooks/events?status=failed')).body.items
    expect(failed).toMatchObject({ provider: 'acme', event_id: 'evt_3', status: 'failed', attempts: 1 })
    const one = await admin.get(`/api/v1/admin/webhooks/events/${failed.id}`)
    expect(one.body).toMatchObject({ event_id: 'evt_3', payload: { id: 'evt_3' } })
    expect(one.body.error).toContain('acme store unavailable')
  })

  it('replays a failed event once, audit-logged; an applied one is 409', async () => {
    const admin = t.as(BOSS)
    const [failed] = (await admin.get('/api/v1/admin/webhooks/events?status=failed')).body.items
    const replay = await admin.post(`/api/v1/admin/webhooks/events/${failed.id}/replay`)
    expect(replay.status).toBe(200)
    expect(replay.body).toMatchObject({ id: failed.id, status: 'applied', attempts: 2, error: null })
    const again = await admin.post(`/api/v1/admin/webhooks/events/${failed.id}/replay`)
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('CONFLICT')
    const [audit] = await t.app.db
      .sql`select action, actor_id, resource_type, details from audit_logs where action = 'webhook.replay'`
    expect(audit).toMatchObject({
      action: 'webhook.replay',
      actor_id: BOSS.sub,
      resource_type: 'inbound_event',
      details: { provider: 'acme', event_id: 'evt_3', status: 'applied' },
    })
  })

  it('is for admins only, 404 for an unknown id, 422 for a bad filter', async () => {
    expect((await t.as('someone').get('/api/v1/admin/webhooks/events')).status).toBe(403)
    expect((await t.request('GET', '/api/v1/admin/webhooks/events')).status).toBe(401)
    expect((await t.as(BOSS).get('/api/v1/admin/webhooks/events/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    )
    expect((await t.as(BOSS).get('/api/v1/admin/webhooks/events/not-a-uuid')).status).toBe(422)
    expect((await t.as(BOSS).get('/api/v1/admin/webhooks/events?status=nope')).status).toBe(422)
    expect(
      (await t.as(BOSS).post('/api/v1/admin/webhooks/events/00000000-0000-4000-8000-000000000000/replay')).status,
    ).toBe(404)
  })
})

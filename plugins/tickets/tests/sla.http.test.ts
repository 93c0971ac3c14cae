/** SLA with an injected clock: due times per default policy, recomputation on priority change, breach flags, the breach job, policies. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

let t: TicketsTestApp
const breaches: any[] = []

beforeAll(async () => {
  t = await ticketsApp()
  await t.user('agent1', 'agent')
  await t.user('boss', 'admin')
  await t.user('alice')
  t.app.events.subscribe('ticket.sla_breached', (p) => void breaches.push(p))
})
afterAll(() => t?.close())

const MIN = 60_000
const open = async (priority?: string) => {
  const res = await t
    .as('alice')
    .post(base, { title: 'Down', description: 'Everything is down', ...(priority ? { priority } : {}) })
  expect(res.status).toBe(201)
  return res.body
}
const get = async (id: string) => (await t.as('agent1').get(`${base}/${id}`)).body
const plus = (iso: string, minutes: number) => new Date(new Date(iso).getTime() + minutes * MIN).toISOString()

describe('SLA', () => {
  it('lists the default policies (staff read, admin write)', async () => {
    const res = await t.as('agent1').get(`${base}/sla-policies`)
    expect(res.status).toBe(200)
    expect(res.body.items).toEqual([
      { priority: 'urgent', first_response_minutes: 60, resolution_minutes: 240 },
      { priority: 'high', first_response_minutes: 240, resolution_minutes: 1440 },
      { priority: 'normal', first_response_minutes: 480, resolution_minutes: 2880 },
      { priority: 'low', first_response_minutes: 1440, resolution_minutes: 7200 },
    ])
    expect(res.body.total).toBe(4)
    expect((await t.as('alice').get(`${base}/sla-policies`)).status).toBe(403)
    expect(
      (await t.as('agent1').put(`${base}/sla-policies/low`, { first_response_minutes: 1, resolution_minutes: 2 }))
        .status,
    ).toBe(403)
    const bad = await t.as('boss').put(`${base}/sla-policies/low`, { first_response_minutes: 0, resolution_minutes: 2 })
    expect(bad.status).toBe(422)
    expect(bad.body.error.details.field).toBe('first_response_minutes')
    expect(
      (await t.as('boss').put(`${base}/sla-policies/whenever`, { first_response_minutes: 1, resolution_minutes: 2 }))
        .status,
    ).toBe(422)
  })

  it('computes due times from the default policy of each priority', async () => {
    for (const [priority, fr, res] of [
      ['urgent', 60, 240],
      ['high', 240, 1440],
      [undefined, 480, 2880],
      ['low', 1440, 7200],
    ] as const) {
      const tk = await open(priority)
      expect(tk.sla).toEqual({
        policy: priority ?? 'normal',
        first_response_due_at: plus(tk.created_at, fr),
        resolution_due_at: plus(tk.created_at, res),
        first_response_breached: false,
        resolution_breached: false,
      })
    }
  })

  it('recomputes due times when the priority changes, from creation', async () => {
    const tk = await open('low')
    t.clock.advance(30 * MIN)
    const up = await t.as('agent1').patch(`${base}/${tk.id}`, { priority: 'urgent' })
    expect(up.body.sla).toMatchObject({
      policy: 'urgent',
      first_response_due_at: plus(tk.created_at, 60),
      resolution_due_at: plus(tk.created_at, 240),
    })
    // Other changes leave them alone.
    const same = await t.as('agent1').patch(`${base}/${tk.id}`, { tags: ['x'] })
    expect(same.body.sla).toEqual(up.body.sla)
  })

  it('flags breaches from the clock, first_response_at and resolved_at', async () => {
    const late = await open('urgent')
    const met = await open('urgent')
    t.clock.advance(30 * MIN)
    await t.as('agent1').post(`${base}/${met.id}/comments`, { body_md: 'On it' })
    t.clock.advance(31 * MIN) // 61 minutes after creation
    expect((await get(late.id)).sla).toMatchObject({ first_response_breached: true, resolution_breached: false })
    expect((await get(met.id)).sla).toMatchObject({ first_response_breached: false, resolution_breached: false })
    // Answering late keeps the first-response breach.
    await t.as('agent1').post(`${base}/${late.id}/comments`, { body_md: 'Sorry for the wait' })
    expect((await get(late.id)).sla.first_response_breached).toBe(true)
    // Resolved in time stays met after the due time passes; unresolved is breached.
    await t.as('agent1').patch(`${base}/${met.id}`, { status: 'resolved' })
    t.clock.advance(200 * MIN)
    expect((await get(met.id)).sla).toMatchObject({ first_response_breached: false, resolution_breached: false })
    expect((await get(late.id)).sla.resolution_breached).toBe(true)
  })

  it('the scheduled job announces each breach once (ticket.sla_breached)', async () => {
    const tk = await open('urgent')
    breaches.length = 0
    await t.app.jobs.enqueue('tickets.scan-sla')
    await t.app.jobs.runDue()
    await new Promise((r) => setTimeout(r, 20))
    expect(breaches.filter((b) => b.ticket.id === tk.id)).toEqual([])
    t.clock.advance(61 * MIN)
    await t.app.jobs.enqueue('tickets.scan-sla')
    await t.app.jobs.runDue()
    await new Promise((r) => setTimeout(r, 20))
    const mine = breaches.filter((b) => b.ticket.id === tk.id)
    expect(mine.map((b) => b.target)).toEqual(['first_response'])
    expect(mine[0].ticket.sla.first_response_breached).toBe(true)
    await t.app.jobs.enqueue('tickets.scan-sla')
    await t.app.jobs.runDue()
    t.clock.advance(200 * MIN)
    await t.app.jobs.enqueue('tickets.scan-sla')
    await t.app.jobs.runDue()
    await new Promise((r) => setTimeout(r, 20))
    expect(breaches.filter((b) => b.ticket.id === tk.id).map((b) => b.target)).toEqual(['first_response', 'resolution'])
  })

  it('a policy change applies to tickets created after it', async () => {
    const before = await open('high')
    const put = await t
      .as('boss')
      .put(`${base}/sla-policies/high`, { first_response_minutes: 10, resolution_minutes: 20 })
    expect(put.status).toBe(200)
    expect(put.body).toEqual({ priority: 'high', first_response_minutes: 10, resolution_minutes: 20 })
    const after = await open('high')
    expect((await get(before.id)).sla.first_response_due_at).toBe(plus(before.created_at, 240))
    expect(after.sla.first_response_due_at).toBe(plus(after.created_at, 10))
    expect(after.sla.resolution_due_at).toBe(plus(after.created_at, 20))
  })
})

/**
 * Notifications: the requester is emailed (through a job and the email plugin) on a public staff
 * reply and on close, never for an internal note; watchers and the ticket channel get realtime
 * events, and internal notes never reach the channel. A stand-in `websocket` plugin records what
 * the real one would deliver (dependencies are matched by name).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin } from '../../../core/index.ts'
import email from '../../email/index.ts'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

const sent: { to: 'user' | 'channel'; target: string; event: any }[] = []
const fakeWebsocket = definePlugin({
  name: 'websocket',
  setup: () => ({
    service: {
      async sendToUser(userId: string, event: any) {
        sent.push({ to: 'user', target: userId, event })
      },
      async broadcastToChannel(channel: string, event: any) {
        sent.push({ to: 'channel', target: channel, event })
      },
      stats: () => ({ connections: 0, users: 0, channels: 0 }),
    },
  }),
})

let t: TicketsTestApp
beforeAll(async () => {
  t = await ticketsApp({ extra: [email, fakeWebsocket] })
  await t.user('agent1', 'agent')
  await t.user('agent2', 'agent')
  await t.user('alice')
})
afterAll(() => t?.close())

const settle = () => new Promise((r) => setTimeout(r, 30))
const outbox = (userId: string) =>
  t.app.db.sql<{ subject: string; text_body: string; tag: string; to_addresses: string[] }[]>`
    select subject, text_body, tag, to_addresses from email_outbox where user_id = ${userId} order by created_at, id`

describe('email notifications through jobs', () => {
  it('emails the requester on a public staff reply and on close, never for internal notes', async () => {
    const tk = (await t.as('alice').post(base, { title: 'VPN drops', description: 'Every hour' })).body
    await t
      .as('agent1')
      .post(`${base}/${tk.id}/comments`, { body_md: 'SECRET internal: user is on old client', is_internal: true })
    await t.as('alice').post(`${base}/${tk.id}/comments`, { body_md: 'still dropping' })
    await t.as('agent1').post(`${base}/${tk.id}/comments`, { body_md: 'Please update the client' })
    await t.as('agent1').post(`${base}/${tk.id}/close`)
    await t.app.jobs.runDue()
    await t.app.jobs.runDue()
    const mails = await outbox('alice')
    // Jobs run concurrently: the two emails may be stored in either order.
    expect(mails.map((m) => m.tag).sort()).toEqual(['tickets.closed', 'tickets.reply'])
    const reply = mails.find((m) => m.tag === 'tickets.reply')!
    expect(reply.to_addresses).toEqual(['alice@example.com'])
    expect(reply.subject).toBe(`Re: [#${tk.number}] VPN drops`)
    expect(reply.text_body).toContain('Please update the client')
    expect(mails.some((m) => m.text_body.includes('SECRET'))).toBe(false)
    expect(mails.find((m) => m.tag === 'tickets.closed')!.subject).toContain('closed')
    // Jobs run at least once: running them again sends nothing twice.
    await t.app.jobs.runDue()
    expect((await outbox('alice')).length).toBe(2)
  })
})

describe('realtime notifications', () => {
  it('watchers get every change; the ticket channel never gets internal notes', async () => {
    const tk = (await t.as('alice').post(base, { title: 'Mouse', description: 'Left click' })).body
    await t.as('agent1').post(`${base}/${tk.id}/watchers`, { user_id: 'agent2' })
    await settle()
    sent.length = 0
    await t.as('agent1').patch(`${base}/${tk.id}`, { priority: 'high' })
    await t.as('agent1').post(`${base}/${tk.id}/comments`, { body_md: 'HIDDEN note', is_internal: true })
    await t.as('agent1').post(`${base}/${tk.id}/comments`, { body_md: 'public answer' })
    await settle()
    const toWatcher = sent.filter((s) => s.to === 'user' && s.target === 'agent2')
    expect(toWatcher.every((s) => s.event.type === 'notification' && s.event.ticket.id === tk.id)).toBe(true)
    expect(toWatcher.map((s) => s.event.kind).sort()).toEqual([
      'comment_added',
      'comment_added',
      'ticket_updated',
      'ticket_updated',
    ])
    const channel = sent.filter((s) => s.to === 'channel')
    expect(channel.every((s) => s.target === `ticket:${tk.id}`)).toBe(true)
    expect(JSON.stringify(channel)).not.toContain('HIDDEN')
    expect(channel.map((s) => s.event.type)).toContain('comment_added')
    // The actor is not notified of their own change.
    expect(sent.some((s) => s.to === 'user' && s.target === 'agent1')).toBe(false)
  })
})

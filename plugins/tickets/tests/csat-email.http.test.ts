/**
 * The close email carries the CSAT survey (docs/plugins/tickets.md#csat): the link in the outbox
 * email of a close is the ticket's own, and its token answers on the public survey route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import email from '../../email/index.ts'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

const PUBLIC_URL = 'https://help.example.com'
let t: TicketsTestApp

beforeAll(async () => {
  t = await ticketsApp({ extra: [email], env: { PUBLIC_URL } })
  await t.user('agent1', 'agent')
  await t.user('alice')
})
afterAll(() => t?.close())

const closeEmails = (userId: string) =>
  t.app.db.sql<{ text_body: string }[]>`select text_body from email_outbox
    where user_id = ${userId} and tag = 'tickets.closed' order by created_at, id`
const SURVEY = /https:\/\/help\.example\.com\/api\/v1\/public\/csat\/[A-Za-z0-9_-]{43}/g

describe('close email', () => {
  it('links the survey; the link opens the form and takes the answer once', async () => {
    const tk = (await t.as('alice').post(base, { title: 'VPN drops', description: 'Every hour' })).body
    const closed = (await t.as('agent1').post(`${base}/${tk.id}/close`)).body
    await t.app.jobs.runDue()
    const [mail, ...more] = await closeEmails('alice')
    expect(more).toHaveLength(0)
    const links = mail!.text_body.match(SURVEY)
    expect(links).toEqual([closed.csat.url])
    const path = new URL(links![0]!).pathname
    const form = await t.get(path, { headers: { accept: 'text/html' } })
    expect(form.status).toBe(200)
    expect(form.text).toContain('<form method="post">')
    const answer = await t.post(path, { score: 'good', comment: 'Fixed fast' })
    expect(answer.status).toBe(200)
    expect((await t.as('alice').get(`${base}/${tk.id}`)).body.csat).toMatchObject({ score: 'good' })
    expect((await t.post(path, { score: 'bad' })).status).toBe(409)
  })

  it('offers no link when the ticket was reopened before the job ran (the survey is void)', async () => {
    const tk = (await t.as('alice').post(base, { title: 'Mail bounces', description: 'Since Monday' })).body
    const closed = (await t.as('agent1').post(`${base}/${tk.id}/close`)).body
    expect((await t.as('alice').post(`${base}/${tk.id}/reopen`)).status).toBe(200)
    await t.app.jobs.runDue()
    const mails = await closeEmails('alice')
    const mine = mails.filter((m) => m.text_body.includes(`#${tk.number} `))
    expect(mine).toHaveLength(1)
    expect(mine[0]!.text_body).not.toMatch(SURVEY)
    expect(mine[0]!.text_body).not.toContain(closed.csat.url)
    expect((await t.get(new URL(closed.csat.url).pathname, { headers: { accept: 'text/html' } })).status).toBe(404)
  })
})

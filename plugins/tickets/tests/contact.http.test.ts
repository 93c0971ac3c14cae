/** From the contact plugin (docs/plugins/tickets.md#from-the-contact-plugin): a submission opens a ticket through the event bus, only with TICKETS_FROM_CONTACT=true. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import contact from '../../contact/index.ts'
import email from '../../email/index.ts'
import { CONTACT_JOB } from '../contact-intake.ts'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

const CONTACT_ENV = { CONTACT_RATE_LIMIT: '1000/hour', CONTACT_MIN_FILL_SECONDS: '0' }
const message = 'My invoice for March shows the wrong VAT number.\nCan you fix it?'

const submit = async (t: TicketsTestApp, body: Record<string, unknown>) => {
  const res = await t.post('/api/v1/public/contact', { name: 'Sam Sender', message, ...body }, { ip: '203.0.113.20' })
  expect(res.status).toBe(200)
  expect(res.body.success).toBe(true)
  return res.body.reference_id as string
}

/** The contact tickets staff see, by reference id. */
const contactTickets = async (t: TicketsTestApp) => {
  const res = await t.as('agent1').get(`${base}?tag=contact&limit=100`)
  expect(res.status).toBe(200)
  return res.body.items as any[]
}

/** Runs the job queue until `reference` has its ticket (the event handler enqueues asynchronously). */
async function ticketFor(t: TicketsTestApp, reference: string) {
  for (let i = 0; i < 100; i++) {
    await t.app.jobs.runDue()
    const found = (await contactTickets(t)).find((x) => x.custom_fields.contact_reference_id === reference)
    if (found) return found
    await Bun.sleep(20)
  }
  throw new Error(`no ticket for ${reference}`)
}

describe('with TICKETS_FROM_CONTACT=true', () => {
  let t: TicketsTestApp
  beforeAll(async () => {
    t = await ticketsApp({ extra: [email, contact], env: { ...CONTACT_ENV, TICKETS_FROM_CONTACT: 'true' } })
    await t.user('agent1', 'agent')
    await t.user('alice')
  })
  afterAll(() => t?.close())

  it('opens a ticket (source contact) whose requester is the existing user with that email', async () => {
    const reference = await submit(t, { email: 'Alice@Example.com', subject: 'Wrong VAT number', company: 'Acme' })
    const ticket = await ticketFor(t, reference)
    expect(ticket).toMatchObject({
      title: 'Wrong VAT number',
      source: 'contact',
      requester_id: 'alice',
      status: 'open',
      priority: 'normal',
      tags: ['contact'],
    })
    expect(ticket.description).toStartWith(message)
    expect(ticket.description).toContain(`Sam Sender <Alice@Example.com>, Acme (${reference})`)
    expect(ticket.custom_fields).toEqual({ contact_submission_id: expect.any(String), contact_reference_id: reference })
    // It is alice's own ticket now.
    const mine = await t.as('alice').get(`${base}/${ticket.id}`)
    expect(mine.status).toBe(200)
    expect(mine.body.source).toBe('contact')
  })

  it('provisions a user for an unknown email through the users plugin, and uses the message as the title without a subject', async () => {
    const reference = await submit(t, { email: 'new.person@example.org' })
    const ticket = await ticketFor(t, reference)
    expect(ticket.requester_id).toBe('contact:new.person@example.org')
    expect(ticket.title).toBe('My invoice for March shows the wrong VAT number.')
    const [user] = await t.app.db
      .sql`select id, email, full_name, role, is_active from users where id = ${ticket.requester_id}`
    expect(user).toEqual({
      id: 'contact:new.person@example.org',
      email: 'new.person@example.org',
      full_name: 'Sam Sender',
      role: 'user',
      is_active: true,
    })
    // A second message from the same address reuses that user.
    const again = await ticketFor(t, await submit(t, { email: 'NEW.person@example.org', subject: 'Follow-up' }))
    expect(again.requester_id).toBe(ticket.requester_id)
  })

  it('opens one ticket per submission, even when its job runs again', async () => {
    const reference = await submit(t, { email: 'alice@example.com', subject: 'Only once' })
    const ticket = await ticketFor(t, reference)
    const [job] = await t.app.db.sql<{ payload: unknown }[]>`
      select payload from jobs where name = ${CONTACT_JOB} and payload->'submission'->>'reference_id' = ${reference}`
    await t.app.jobs.enqueue(CONTACT_JOB, job!.payload)
    await t.app.jobs.runDue()
    const same = (await contactTickets(t)).filter((x) => x.custom_fields.contact_reference_id === reference)
    expect(same.map((x) => x.id)).toEqual([ticket.id])
  })

  it('opens nothing for a submission flagged as spam', async () => {
    const seen: string[] = []
    t.app.events.subscribe('contact.submitted', ({ submission }) => void seen.push(submission.reference_id))
    const spam = await submit(t, { email: 'bot@example.net', subject: 'Cheap pills', website: 'http://spam.example' })
    const genuine = await submit(t, { email: 'bot@example.net', subject: 'A real question' })
    await ticketFor(t, genuine)
    expect(seen).toEqual([genuine])
    expect((await contactTickets(t)).some((x) => x.custom_fields.contact_reference_id === spam)).toBe(false)
  })
})

describe('without TICKETS_FROM_CONTACT', () => {
  let t: TicketsTestApp
  beforeAll(async () => {
    t = await ticketsApp({ extra: [email, contact], env: CONTACT_ENV })
    await t.user('agent1', 'agent')
    await t.user('alice')
  })
  afterAll(() => t?.close())

  it('opens no ticket (off by default)', async () => {
    const published = new Promise<string>((resolve) =>
      t.app.events.subscribe('contact.submitted', ({ submission }) => resolve(submission.reference_id)),
    )
    const reference = await submit(t, { email: 'alice@example.com', subject: 'Wrong VAT number' })
    expect(await published).toBe(reference)
    // Every handler of the event has run by now (each in its own microtask, before this one resumed).
    await Bun.sleep(50)
    await t.app.jobs.runDue()
    const [jobs] = await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where name = ${CONTACT_JOB}`
    expect(jobs!.n).toBe(0)
    expect(await contactTickets(t)).toEqual([])
    expect((await t.as('agent1').get(base)).body.total).toBe(0)
  })
})

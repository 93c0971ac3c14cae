/** The helpdesk starter boots with its plugins (users, files, tickets, websocket, email) and serves the ticket flow. */
import { afterAll, beforeAll, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testApp, type TestApp } from '../../core/testing/index.ts'
import { plugins } from './app.ts'

let t: TestApp
const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-helpdesk-'))
beforeAll(async () => {
  t = await testApp({ plugins, env: { DATA_DIR: dataDir } })
  await t.app.db.sql`insert into users (id, email, role) values ('desk', 'desk@example.com', 'agent')`
})
afterAll(async () => {
  await t?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

it('serves tickets end to end and documents them', async () => {
  const created = await t
    .as('carol')
    .post('/api/v1/app/tickets', { title: 'Cannot log in', description: 'Password reset mail never arrives' })
  expect(created.status).toBe(201)
  const reply = await t.as('desk').post(`/api/v1/app/tickets/${created.body.number}/comments`, { body_md: 'Resent it' })
  expect(reply.status).toBe(201)
  const got = await t.as('carol').get(`/api/v2/app/tickets/${created.body.id}`)
  expect(got.body.data.first_response_at).toBe(reply.body.created_at)
  await t.app.jobs.runDue()
  const [mail] = await t.app.db.sql`select subject from email_outbox where user_id = 'carol'`
  expect(mail!.subject).toBe(`Re: [#${created.body.number}] Cannot log in`)
  const doc = t.app.openapi() as { paths: Record<string, unknown> }
  expect(Object.keys(doc.paths)).toContain('/api/v1/app/tickets/{id}/comments')
})

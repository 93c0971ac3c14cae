/**
 * The consequences of deleting an organization survive a crash right after its commit
 * (docs/jobs-and-events.md#durable-events): its projects, its files and its Stripe subscription
 * are durable subscribers' jobs committed with the deletion. The app that deleted it stops before
 * any job runs; a new app on the same database runs them, each once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CORE_MIGRATIONS, createApp, type App } from '../../../core/index.ts'
import { createTestDatabase, type TestDatabase } from '../../../core/testing/database.ts'
import { TEST_JWT_SECRET, type TestApp } from '../../../core/testing/index.ts'
import billing from '../../billing/index.ts'
import { startFakeStripe, type FakeStripe } from '../../billing/tests/fakes/stripe-api.ts'
import { inOrg, subscribeOrg } from '../../billing/tests/org-support.ts'
import { stripeEnv } from '../../billing/tests/support.ts'
import email from '../../email/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import { tempDataDir, viaApp } from '../../files/tests/support.ts'
import projects from '../../projects/index.ts'
import users from '../../users/index.ts'
import { createOrganizationsPlugin } from '../index.ts'
import { asTestApp, createOrg } from './support.ts'

const plugins = [users, email, createOrganizationsPlugin(), projects, createFilesPlugin(), billing]
const CONSEQUENCES = ['billing.cancel-organization', 'files.purge-organization', 'projects.remove-organization']

let fake: FakeStripe
let database: TestDatabase
const dataDir = tempDataDir()
const running: App[] = []

/** An app on the shared database, used like testApp's (workers off: jobs run when asked). */
async function boot(): Promise<TestApp> {
  const app = await createApp({
    plugins,
    database,
    workers: false,
    env: {
      ...stripeEnv(fake),
      BILLING_PLAN_MAP: 'price_monthly_test=team',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      RATE_LIMIT_DEFAULT: '100000/minute',
    },
  })
  running.push(app)
  return asTestApp(app)
}

beforeAll(async () => {
  fake = startFakeStripe()
  database = await createTestDatabase({
    migrations: [
      CORE_MIGRATIONS,
      ...plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! })),
    ],
  })
}, 30_000)
afterAll(async () => {
  for (const app of running) await app.stop()
  await database?.close()
  fake?.close()
})

/** The organization's consequence jobs: name and state. */
const jobsOf = async (org: string) =>
  (
    await database.sql<{ name: string; state: string }[]>`
      select name, state from jobs where payload->>'org_id' = ${org} and name = any(${CONSEQUENCES}::text[])
      order by name`
  ).map((j) => `${j.name}:${j.state}`)

describe('deleting an organization, then a crash', () => {
  it('a new app on the same database carries out every consequence, once', async () => {
    const a = await boot()
    const org = await createOrg(a, 'crash-owner')
    const project = await a.as('crash-owner').post('/api/v1/app/projects', { name: 'Doomed' }, inOrg(org))
    expect(project.status).toBe(201)
    const up = await a
      .as('crash-owner')
      .post('/api/v1/app/files/upload-url', { filename: 'doomed.txt', content_type: 'text/plain', size: 4 }, inOrg(org))
    expect(up.status).toBe(200)
    const put = await viaApp(a.app, up.body.upload_url, {
      method: 'PUT',
      body: 'gone',
      headers: { 'content-type': 'text/plain' },
    })
    expect(put.status).toBe(200)
    const file = await a.as('crash-owner').post('/api/v1/app/files/confirm', { file_id: up.body.file_id }, inOrg(org))
    expect(file.status).toBe(200)
    const object = join(dataDir, 'files', file.body.key)
    expect(existsSync(object)).toBe(true)
    const { sub } = await subscribeOrg(a, fake, org, 'crash-owner')

    expect((await a.as('crash-owner').delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
    expect(await jobsOf(org)).toEqual(CONSEQUENCES.map((j) => `${j}:queued`))
    // The crash: this process ends after the commit, before any of those jobs ran.
    await a.app.stop()
    const [live] = await database.sql<{ deleted: boolean }[]>`
      select deleted_at is not null as deleted from projects where id = ${project.body.id}`
    expect(live!.deleted).toBe(false)
    expect(fake.subscriptions.get(sub.id)!.status).toBe('active')

    const b = await boot()
    for (let i = 0; i < 50 && (await jobsOf(org)).some((j) => !j.endsWith(':completed')); i++) {
      await b.app.jobs.runDue()
      await Bun.sleep(20)
    }
    expect(await jobsOf(org)).toEqual(CONSEQUENCES.map((j) => `${j}:completed`))

    const [gone] = await database.sql<{ deleted: boolean }[]>`
      select deleted_at is not null as deleted from projects where id = ${project.body.id}`
    expect(gone!.deleted).toBe(true)
    const files = await database.sql`select id from files where org_id = ${org}`
    expect(files).toHaveLength(0)
    expect(existsSync(object)).toBe(false)
    const cancels = fake.requests.filter((r) => r.method === 'DELETE' && r.path === `/v1/subscriptions/${sub.id}`)
    expect(cancels).toHaveLength(1)
    expect(cancels[0]!.headers['idempotency-key']).toBe(`omnistack-org-cancel-${sub.id}`)
    expect(fake.subscriptions.get(sub.id)!.status).toBe('canceled')
    const [stored] = await database.sql<{ status: string }[]>`
      select status from billing_org_subscriptions where org_id = ${org}`
    expect(stored!.status).toBe('canceled')
  })
})

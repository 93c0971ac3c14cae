/** Two replicas sharing the database and Redis: an organization key revoked or deleted on one is refused on the other at once. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createApp, definePlugin, type App } from '../../../core/index.ts'
import { openDatabase, type Database } from '../../../core/db/index.ts'
import { clientFor, TEST_JWT_SECRET, testApp, type Client, type TestApp } from '../../../core/testing/index.ts'
import type { TestDatabase } from '../../../core/testing/database.ts'
import { until } from '../../../core/testing/services.ts'
import email from '../../email/index.ts'
import users from '../../users/index.ts'
import organizations from '../index.ts'

const url = process.env.TEST_REDIS_URL

/** Any route of another plugin a key may call. */
const fixture = definePlugin({
  name: 'org-key-replica-fixture',
  setup: () => ({
    routes: {
      app: ({ router }) => router('/fixture').get('/whoami', ({ principal }) => ({ user: principal.user.id })),
    },
  }),
})

describe.skipIf(!url)('organization keys across replicas (Redis)', () => {
  const plugins = [users, email, organizations, fixture]
  let a: TestApp
  let b: App
  let db2: Database
  let onB: Client
  beforeAll(async () => {
    const env = { REDIS_URL: url! }
    a = await testApp({ plugins, env })
    const dbUrl = (a.app.db as TestDatabase).url
    db2 = dbUrl ? await openDatabase({ url: dbUrl, max: 2 }) : a.app.db
    b = await createApp({
      plugins,
      database: db2,
      workers: false,
      env: { ...env, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' },
    })
    onB = clientFor(b)
  })
  afterAll(async () => {
    await b?.stop()
    if (db2 && db2 !== a?.app.db) await db2.close()
    await a?.close()
  })

  const keyIn = async (org: string) => {
    const res = await a.as('u-rep-own').post(`/api/v1/app/orgs/${org}/api-keys`, { name: 'k', scopes: ['x:read'] })
    expect(res.status).toBe(201)
    return { id: res.body.id as string, auth: { headers: { authorization: `Bearer ${res.body.key}` } } }
  }
  const newOrg = async (name: string) => {
    const res = await a.as('u-rep-own').post('/api/v1/app/orgs', { name })
    expect(res.status).toBe(201)
    return res.body.id as string
  }

  it('refuses a key revoked on the other replica at once', async () => {
    const org = await newOrg('Replica One')
    const { id, auth } = await keyIn(org)
    expect((await onB.get('/api/v1/app/fixture/whoami', auth)).status).toBe(200)
    expect((await a.as('u-rep-own').delete(`/api/v1/app/orgs/${org}/api-keys/${id}`)).status).toBe(204)
    await until(async () => (await onB.get('/api/v1/app/fixture/whoami', auth)).status === 401, 1000)
  })

  it('refuses the keys of an organization deleted on the other replica at once', async () => {
    const org = await newOrg('Replica Two')
    const { auth } = await keyIn(org)
    expect((await onB.get('/api/v1/app/fixture/whoami', auth)).status).toBe(200)
    expect((await a.as('u-rep-own').delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
    await until(async () => (await onB.get('/api/v1/app/fixture/whoami', auth)).status === 401, 1000)
  })
})

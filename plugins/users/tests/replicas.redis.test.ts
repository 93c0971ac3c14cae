/** Two replicas sharing the database and Redis: revocations and deactivations reach the other one at once. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createApp, type App } from '../../../core/index.ts'
import { openDatabase, type Database } from '../../../core/db/index.ts'
import { clientFor, TEST_JWT_SECRET, testApp, type Client, type TestApp } from '../../../core/testing/index.ts'
import type { TestDatabase } from '../../../core/testing/database.ts'
import { until } from '../../../core/testing/services.ts'
import admin from '../../admin/index.ts'
import users from '../index.ts'

const url = process.env.TEST_REDIS_URL
const ROOT = { sub: 'u-replica-root', email: 'replica-root@example.com' }

describe.skipIf(!url)('users across replicas (Redis)', () => {
  let a: TestApp
  let b: App
  let db2: Database
  let onB: (user?: string) => Client
  beforeAll(async () => {
    const env = { REDIS_URL: url!, SUPERADMIN_EMAILS: ROOT.email }
    a = await testApp({ plugins: [users, admin], env })
    const dbUrl = (a.app.db as TestDatabase).url
    db2 = dbUrl ? await openDatabase({ url: dbUrl, max: 2 }) : a.app.db
    b = await createApp({
      plugins: [users, admin],
      database: db2,
      workers: false,
      env: { ...env, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' },
    })
    onB = (user) => clientFor(b, user ? () => a.token(user) : undefined)
    await a.as(ROOT).get('/api/v1/app/users/me')
  })
  afterAll(async () => {
    await b?.stop()
    if (db2 && db2 !== a?.app.db) await db2.close()
    await a?.close()
  })

  it('refuses a key revoked on the other replica at once', async () => {
    const { id, key } = (await a.as('u-rep-key').post('/api/v1/app/api-keys', { name: 'k', scopes: ['users:read'] }))
      .body
    const bearer = { headers: { authorization: `Bearer ${key}` } }
    expect((await onB().get('/api/v1/app/users/me', bearer)).status).toBe(200)
    expect((await a.as('u-rep-key').delete(`/api/v1/app/api-keys/${id}`)).status).toBe(204)
    await until(async () => (await onB().get('/api/v1/app/users/me', bearer)).status === 401, 2000)
  })

  it('refuses a user deactivated on the other replica at once', async () => {
    expect((await onB('u-rep-off').get('/api/v1/app/users/me')).status).toBe(200)
    expect((await a.as(ROOT).post('/api/v1/admin/users/u-rep-off/deactivate')).status).toBe(200)
    await until(async () => (await onB('u-rep-off').get('/api/v1/app/users/me')).status === 403, 2000)
    expect((await a.as(ROOT).post('/api/v1/admin/users/u-rep-off/activate')).status).toBe(200)
    await until(async () => (await onB('u-rep-off').get('/api/v1/app/users/me')).status === 200, 2000)
  })
})

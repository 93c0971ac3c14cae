/** The user directory provisions a user once even when their first requests arrive together (several connections). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { CORE_MIGRATIONS } from '../../app/create-app.ts'
import { createTestDatabase, type TestDatabase } from '../../testing/database.ts'
import { createUserDirectory } from '../user-directory.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase({ migrations: [CORE_MIGRATIONS] })
}, 120_000)
afterAll(() => db?.close())

describe('user directory', () => {
  it('answers every concurrent first request for a new user with that one user', async () => {
    const created: string[] = []
    const directory = createUserDirectory({
      sql: db.sql,
      adminEmails: [],
      superadminEmails: [],
      onCreated: (u) => void created.push(u.id),
    })
    for (let round = 0; round < 5; round++) {
      const sub = `burst-${round}`
      const users = await Promise.all(
        Array.from({ length: 20 }, () => directory.ensure({ sub, email: `${sub}@example.com` })),
      )
      expect(new Set(users.map((u) => u.id))).toEqual(new Set([sub]))
    }
    expect(created.sort()).toEqual(['burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4'])
  })
})

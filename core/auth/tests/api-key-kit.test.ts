/**
 * The API-key kit on its own (docs/auth.md#api-keys): the key format, the hash at rest, the
 * resolver's cache and its drops, and last_used_at kept in memory until a flush writes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { CORE_MIGRATIONS } from '../../app/create-app.ts'
import { AppError } from '../../errors/index.ts'
import { createTestDatabase, type TestDatabase } from '../../testing/database.ts'
import { createApiKeyKit, generateApiKey, hashApiKey, type ApiKeyKit } from '../api-key-kit.ts'
import { createUserDirectory } from '../user-directory.ts'

interface TestKey {
  id: string
  userId: string
  scopes: ReadonlySet<string>
}

let db: TestDatabase
let reads = 0
const warnings: string[] = []

const kitFor = (table: string): ApiKeyKit<TestKey> =>
  createApiKeyKit<TestKey>({
    prefix: 'tk_',
    table,
    label: 'test key',
    sql: db.sql,
    logger: { warn: (message) => void warnings.push(message) },
    users: createUserDirectory({ sql: db.sql, adminEmails: [], superadminEmails: [] }),
    async find(hash) {
      reads++
      const [row] = await db.sql<{ id: string; user_id: string; scopes: string[] }[]>`
        select id, user_id, scopes from kit_keys where key_hash = ${hash} and revoked_at is null`
      return row && { id: row.id, userId: row.user_id, scopes: new Set(row.scopes) }
    },
    userOf: (key) => key.userId,
    principal: (key, user) => ({ user, kind: 'api_key', scopes: key.scopes, credentialId: key.id }),
  })

/** A stored key of `userId`: the secret the caller holds and the row's id. */
const storeKey = async (kit: ApiKeyKit<TestKey>, userId: string) => {
  const key = kit.generate()
  const [row] = await db.sql<{ id: string }[]>`
    insert into kit_keys (user_id, key_hash, scopes) values (${userId}, ${hashApiKey(key)}, ${['a:read']}::text[])
    returning id`
  return { key, id: row!.id }
}

const lastUsed = async (id: string) => {
  const [row] = await db.sql<{ last_used_at: Date | null }[]>`select last_used_at from kit_keys where id = ${id}`
  return row!.last_used_at
}

/** The error code `run` fails with (it must fail with an AppError). */
const refusal = async (run: () => unknown) => {
  const err = await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  expect(err).toBeInstanceOf(AppError)
  return (err as AppError).errorCode
}

beforeAll(async () => {
  db = await createTestDatabase({ migrations: [CORE_MIGRATIONS] })
  await db.sql`create table kit_keys (
    id uuid primary key default gen_random_uuid(), user_id text not null references users(id),
    key_hash text not null, scopes text[] not null, revoked_at timestamptz, last_used_at timestamptz)`
  await db.sql`insert into users (id, email) values ('kit-user', 'kit@example.com')`
}, 120_000)
afterAll(() => db?.close())

describe('api key kit', () => {
  it('makes keys of the prefix and 40 characters of [A-Za-z0-9], and stores only their SHA-256', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey('tk_'))
    for (const k of keys) expect(k).toMatch(/^tk_[A-Za-z0-9]{40}$/)
    expect(new Set(keys).size).toBe(200)
    // Every character of the alphabet turns up in 8,000 uniform draws.
    expect(new Set(keys.join('').replaceAll('tk_', '')).size).toBe(62)
    expect(hashApiKey('tk_x')).toBe(createHash('sha256').update('tk_x').digest('hex'))
    expect(hashApiKey('tk_x')).not.toBe(hashApiKey('tk_y'))
  })

  it('resolves a live key as its user, from the cache after the first read', async () => {
    const kit = kitFor('kit_keys')
    const { key, id } = await storeKey(kit, 'kit-user')
    expect(kit.resolver.matches(key)).toBe(true)
    expect(kit.resolver.matches('osk_abc')).toBe(false)
    const before = reads
    const p = await kit.resolver.resolve(key)
    expect(p.user.id).toBe('kit-user')
    expect(p.kind).toBe('api_key')
    expect(p.credentialId).toBe(id)
    expect([...(p.scopes as Set<string>)]).toEqual(['a:read'])
    await kit.resolver.resolve(key)
    expect(reads - before).toBe(1)
  })

  it('refuses a malformed key without a read, and an unknown one with 401', async () => {
    const kit = kitFor('kit_keys')
    const before = reads
    expect(await refusal(() => kit.resolver.resolve('tk_short'))).toBe('AUTHENTICATION_ERROR')
    expect(reads).toBe(before)
    expect(await refusal(() => kit.resolver.resolve(kit.generate()))).toBe('AUTHENTICATION_ERROR')
    expect(reads).toBe(before + 1)
  })

  it('stops trusting a dropped key at once (a revocation), and drop() forgets what it picks', async () => {
    const kit = kitFor('kit_keys')
    const revoked = await storeKey(kit, 'kit-user')
    const kept = await storeKey(kit, 'kit-user')
    await kit.resolver.resolve(revoked.key)
    await kit.resolver.resolve(kept.key)
    await db.sql`update kit_keys set revoked_at = now() where id = ${revoked.id}`
    // Still cached: the revocation reaches this replica through dropId.
    await kit.resolver.resolve(revoked.key)
    kit.dropId(revoked.id)
    expect(await refusal(() => kit.resolver.resolve(revoked.key))).toBe('AUTHENTICATION_ERROR')
    const before = reads
    kit.drop((k) => k.id === kept.id)
    await kit.resolver.resolve(kept.key)
    expect(reads).toBe(before + 1)
  })

  it('writes last_used_at only when flushed, and shows the pending use in a list meanwhile', async () => {
    const kit = kitFor('kit_keys')
    const { key, id } = await storeKey(kit, 'kit-user')
    await kit.resolver.resolve(key)
    expect(await lastUsed(id)).toBeNull()
    const unused: { id: string; last_used_at: Date | null } = { id, last_used_at: null }
    const [listed] = kit.withRecentUse([unused])
    expect(listed!.last_used_at).toBeInstanceOf(Date)
    const other = { id: crypto.randomUUID(), last_used_at: null }
    expect(kit.withRecentUse([other])[0]).toBe(other)
    await kit.flushUsage()
    expect((await lastUsed(id))?.getTime()).toBe(listed!.last_used_at!.getTime())
    // Nothing pending any more: the list shows the stored time.
    const stored = { id, last_used_at: new Date(0) }
    await kit.stop()
    expect(kit.withRecentUse([stored])[0]).toBe(stored)
  })

  it('keeps the pending use when the write fails, and logs it', async () => {
    const kit = kitFor('no_such_table')
    const { key, id } = await storeKey(kit, 'kit-user')
    await kit.resolver.resolve(key)
    await kit.flushUsage()
    expect(warnings).toContain('test key last_used_at flush failed')
    const unused: { id: string; last_used_at: Date | null } = { id, last_used_at: null }
    expect(kit.withRecentUse([unused])[0]!.last_used_at).toBeInstanceOf(Date)
  })
})

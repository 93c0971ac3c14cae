/** Supabase database webhooks on auth.users: bearer check, ordering, redelivery, deletion. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import admin from '../../admin/index.ts'
import users from '../../users/index.ts'
import identityWebhooks from '../index.ts'

const SECRET = 'supabase-webhook-secret-0123456789'
let t: TestApp
beforeAll(async () => {
  t = await testApp({ plugins: [users, admin, identityWebhooks], env: { SUPABASE_WEBHOOK_SECRET: SECRET } })
})
afterAll(() => t?.close())

/** A database webhook on auth.users, as Supabase sends it. */
const authUser = (id: string, updatedAt: string, extra: Record<string, unknown> = {}) => ({
  instance_id: '00000000-0000-0000-0000-000000000000',
  id,
  aud: 'authenticated',
  role: 'authenticated',
  email: `${id.slice(0, 8)}@example.com`,
  raw_app_meta_data: { provider: 'email', providers: ['email'] },
  raw_user_meta_data: { full_name: 'Supa Base', avatar_url: 'https://cdn.example.com/supa.png' },
  created_at: '2026-01-01T00:00:00.000000+00:00',
  updated_at: updatedAt,
  deleted_at: null,
  is_anonymous: false,
  ...extra,
})
const hook = (
  type: 'INSERT' | 'UPDATE' | 'DELETE',
  record: unknown,
  old: unknown = null,
  table = 'users',
  schema = 'auth',
) => ({
  type,
  table,
  schema,
  record: type === 'DELETE' ? null : record,
  old_record: type === 'INSERT' ? null : old,
})
const send = (payload: unknown, secret: string | null = SECRET, raw?: string) =>
  t.request('POST', '/api/v1/public/webhooks/supabase', {
    raw: raw ?? JSON.stringify(payload),
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { authorization: `Bearer ${secret}` }) },
  })
const row = async (id: string) => (await t.app.db.sql`select * from users where id = ${id}`)[0]

describe('Supabase webhook', () => {
  const id = crypto.randomUUID()

  it('creates the user on INSERT with the right bearer', async () => {
    const res = await send(hook('INSERT', authUser(id, '2026-01-01T00:00:00.000000+00:00')))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, outcome: 'applied' })
    expect(await row(id)).toMatchObject({
      email: `${id.slice(0, 8)}@example.com`,
      full_name: 'Supa Base',
      avatar_url: 'https://cdn.example.com/supa.png',
      role: 'user',
    })
  })

  it('refuses a wrong or missing bearer with 401 and changes nothing', async () => {
    const other = crypto.randomUUID()
    for (const secret of ['wrong-secret-wrong-secret', null, `${SECRET}x`, SECRET.slice(0, -1)]) {
      const res = await send(hook('INSERT', authUser(other, '2026-01-01T00:00:00Z')), secret)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('AUTHENTICATION_ERROR')
    }
    const update = await send(
      hook('UPDATE', authUser(id, '2030-01-01T00:00:00Z', { email: 'hijack@evil.example' })),
      'nope-nope-nope-nope',
    )
    expect(update.status).toBe(401)
    expect(await row(other)).toBeUndefined()
    expect((await row(id))!.email).not.toBe('hijack@evil.example')
  })

  it('applies a newer UPDATE and ignores an older one', async () => {
    const newer = await send(
      hook('UPDATE', authUser(id, '2026-02-01T00:00:00Z', { raw_user_meta_data: { name: 'Renamed' } })),
    )
    expect(newer.body.outcome).toBe('applied')
    expect(await row(id)).toMatchObject({ full_name: 'Renamed', avatar_url: null })
    const older = await send(
      hook('UPDATE', authUser(id, '2026-01-15T00:00:00Z', { raw_user_meta_data: { name: 'Stale' } })),
    )
    expect(older.body.outcome).toBe('stale')
    expect((await row(id))!.full_name).toBe('Renamed')
  })

  it('acknowledges a redelivery once', async () => {
    const payload = hook('UPDATE', authUser(id, '2026-03-01T00:00:00Z', { raw_user_meta_data: { name: 'Once' } }))
    expect((await send(payload)).body.outcome).toBe('applied')
    await t.app.db.sql`update users set full_name = 'Changed since' where id = ${id}`
    const again = await send(payload)
    expect(again.body).toEqual({ received: true, outcome: 'duplicate' })
    expect((await row(id))!.full_name).toBe('Changed since')
  })

  it('deactivates and anonymises on DELETE', async () => {
    expect((await t.as(id).get('/api/v1/app/users/me')).status).toBe(200)
    const res = await send(hook('DELETE', null, authUser(id, '2026-03-01T00:00:00Z')))
    expect(res.body.outcome).toBe('applied')
    expect(await row(id)).toMatchObject({ is_active: false, email: null, full_name: null, avatar_url: null })
    expect((await t.as(id).get('/api/v1/app/users/me')).status).toBe(403)
  })

  it('ignores other tables and refuses malformed payloads', async () => {
    const other = await send(hook('INSERT', { id: 'x' }, null, 'profiles', 'public'))
    expect(other.body).toEqual({ received: true, outcome: 'ignored' })
    expect((await send(null, SECRET, '{"type": "INSERT",')).status).toBe(400)
    const noId = await send(hook('INSERT', { email: 'a@b.c', updated_at: '2026-01-01T00:00:00Z' }))
    expect(noId.status).toBe(400)
    expect(noId.body.error.code).toBe('BAD_REQUEST')
  })
})

/** Profile routes: v1 and v2 shapes, contributed fields, validation limits, isolation. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import users from '../index.ts'

/** A stand-in for the billing plugin: contributes subscription fields without users knowing it. */
const billingLike = definePlugin({
  name: 'billing-like',
  dependsOn: { users },
  setup: ({ deps }) => {
    deps.users.addProfileFields((ids) =>
      Object.fromEntries(
        ids
          .filter((id) => id === 'u-pro')
          .map((id) => [id, { subscription_plan: 'pro', subscription_status: 'active' }]),
      ),
    )
    return {}
  },
})

let t: TestApp
beforeAll(async () => {
  t = await testApp({ plugins: [users, billingLike] })
})
afterAll(() => t?.close())

const V1_KEYS = [
  'avatar_url',
  'created_at',
  'email',
  'full_name',
  'id',
  'is_active',
  'role',
  'subscription_plan',
  'subscription_status',
]

describe('GET /users/me', () => {
  it('returns the seed shape in v1', async () => {
    const res = await t.as({ sub: 'u-alice', email: 'alice@example.com', name: 'Alice' }).get('/api/v1/app/users/me')
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(V1_KEYS)
    expect(res.body).toMatchObject({
      id: 'u-alice',
      email: 'alice@example.com',
      full_name: 'Alice',
      role: 'user',
      is_active: true,
      subscription_plan: 'free',
      subscription_status: null,
    })
    expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at)
  })

  it('wraps v2 and adds is_premium and days_since_joined', async () => {
    await t.as('u-alice').get('/api/v1/app/users/me')
    await t.app.db.sql`update users set created_at = now() - interval '10 days 2 hours' where id = 'u-alice'`
    const res = await t.as('u-alice').get('/api/v2/app/users/me')
    expect(res.body.meta.version).toBe('v2')
    expect(res.body.data).toMatchObject({ id: 'u-alice', is_premium: false, days_since_joined: 10 })
    expect(Object.keys(res.body.data).sort()).toEqual([...V1_KEYS, 'days_since_joined', 'is_premium'].sort())
  })

  it('takes fields another installed plugin contributes', async () => {
    const v1 = await t.as('u-pro').get('/api/v1/app/users/me')
    expect(v1.body).toMatchObject({ subscription_plan: 'pro', subscription_status: 'active' })
    expect(v1.body.is_premium).toBeUndefined()
    const v2 = await t.as('u-pro').get('/api/v2/app/users/me')
    expect(v2.body.data).toMatchObject({ is_premium: true, days_since_joined: 0 })
  })

  it('shows only the caller', async () => {
    await t.as('u-alice').patch('/api/v1/app/users/me', { full_name: 'Alice Private' })
    const bob = await t.as('u-bob').get('/api/v1/app/users/me')
    expect(bob.body.id).toBe('u-bob')
    expect(bob.text).not.toContain('Alice Private')
  })
})

describe('PATCH /users/me', () => {
  it('updates full_name and avatar_url and ignores anything else', async () => {
    const res = await t.as('u-carol').patch('/api/v1/app/users/me', {
      full_name: 'Carol Smith',
      avatar_url: 'https://example.com/new-avatar.jpg',
      role: 'superadmin',
      is_active: false,
      email: 'evil@example.com',
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      id: 'u-carol',
      full_name: 'Carol Smith',
      avatar_url: 'https://example.com/new-avatar.jpg',
      role: 'user',
      is_active: true,
      email: 'u-carol@example.com',
    })
    const [row] = await t.app.db.sql`select role, is_active, email from users where id = 'u-carol'`
    expect(row).toEqual({ role: 'user', is_active: true, email: 'u-carol@example.com' })
  })

  it('answers v2 enveloped with the computed fields', async () => {
    const res = await t.as('u-carol').patch('/api/v2/app/users/me', { full_name: 'Carol V2' })
    expect(res.body.data).toMatchObject({ full_name: 'Carol V2', is_premium: false, days_since_joined: 0 })
  })

  it('clears a field with null and leaves it alone when absent', async () => {
    await t.as('u-dave').patch('/api/v1/app/users/me', { full_name: 'Dave', avatar_url: 'http://example.com/a.png' })
    const res = await t.as('u-dave').patch('/api/v1/app/users/me', { avatar_url: null })
    expect(res.body).toMatchObject({ full_name: 'Dave', avatar_url: null })
    expect((await t.as('u-dave').patch('/api/v1/app/users/me', {})).body.full_name).toBe('Dave')
  })

  it('accepts the limits exactly', async () => {
    const url = 'https://example.com/' + 'a'.repeat(2048 - 20)
    const res = await t.as('u-dave').patch('/api/v1/app/users/me', { full_name: 'x'.repeat(255), avatar_url: url })
    expect(res.status).toBe(200)
    expect(res.body.full_name.length).toBe(255)
    expect(res.body.avatar_url.length).toBe(2048)
  })

  it('refuses each limit with 422 and details.field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ full_name: 'x'.repeat(256) }, 'full_name'],
      [{ full_name: 42 }, 'full_name'],
      [{ avatar_url: 'https://example.com/' + 'a'.repeat(2048 - 19) }, 'avatar_url'],
      [{ avatar_url: 'ftp://example.com/a.png' }, 'avatar_url'],
      [{ avatar_url: 'javascript:alert(1)' }, 'avatar_url'],
      [{ avatar_url: 'not a url' }, 'avatar_url'],
      [{ avatar_url: 'https://exa mple.com/a.png' }, 'avatar_url'],
      [{ avatar_url: 'http://:80/a.png' }, 'avatar_url'],
    ]
    for (const [body, field] of cases) {
      const res = await t.as('u-erin').patch('/api/v1/app/users/me', body)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe(field)
    }
    const [row] = await t.app.db.sql`select full_name, avatar_url from users where id = 'u-erin'`
    expect(row).toEqual({ full_name: 'u-erin', avatar_url: null })
  })

  it('answers malformed JSON with 400', async () => {
    const res = await t.as('u-erin').request('PATCH', '/api/v1/app/users/me', {
      raw: '{"full_name": ',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
  })

  it('answers a JSON array, number, boolean or string with 422 (not a silent empty update)', async () => {
    for (const raw of ['["x"]', '[]', '42', 'true', '"str"']) {
      const res = await t
        .as('u-erin')
        .request('PATCH', '/api/v2/app/users/me', { raw, headers: { 'content-type': 'application/json' } })
      expect(`${raw} ${res.status}`).toBe(`${raw} 422`)
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body' } })
      expect(res.body.meta.version).toBe('v2')
    }
  })

  it('needs a bearer', async () => {
    expect((await t.get('/api/v1/app/users/me')).status).toBe(401)
    expect((await t.patch('/api/v1/app/users/me', { full_name: 'x' })).status).toBe(401)
  })
})

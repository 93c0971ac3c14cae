import { describe, expect, it } from 'bun:test'
import { compile, evaluate, rolloutBucket, type FlagRow } from '../evaluate.ts'

const ids = Array.from({ length: 10_000 }, (_, i) => `user_${i}`)
const row = (over: Partial<FlagRow>): FlagRow => ({
  id: '00000000-0000-4000-8000-000000000001',
  key: 'new_dashboard',
  name: 'New dashboard',
  description: null,
  flag_type: 'boolean',
  is_enabled: true,
  percentage: 0,
  user_ids: [],
  plans: [],
  expires_at: null,
  created_at: new Date(),
  updated_at: new Date(),
  ...over,
})
const on = (r: FlagRow, userId: string | null, plan = 'free', now = Date.now()) =>
  evaluate(compile(r), { userId, plan: () => plan, now })
const enabledAt = (key: string, pct: number) =>
  new Set(ids.filter((id) => on(row({ key, flag_type: 'percentage', percentage: pct }), id).is_enabled))

describe('percentage rollout', () => {
  it('enables 23-27 % of 10,000 users at 25 %', () => {
    const n = enabledAt('new_dashboard', 25).size
    expect(n).toBeGreaterThanOrEqual(2300)
    expect(n).toBeLessThanOrEqual(2700)
  })

  it('gives a user the same answer on every call', () => {
    const first = ids.slice(0, 500).map((id) => rolloutBucket('new_dashboard', id))
    const again = ids.slice(0, 500).map((id) => rolloutBucket('new_dashboard', id))
    expect(again).toEqual(first)
    for (const b of first) expect(b >= 0 && b < 100).toBe(true)
  })

  it('only adds users when raised from 25 % to 50 %', () => {
    const at25 = enabledAt('new_dashboard', 25)
    const at50 = enabledAt('new_dashboard', 50)
    for (const id of at25) expect(at50.has(id)).toBe(true)
    expect(at50.size).toBeGreaterThan(4700)
    expect(at50.size).toBeLessThan(5300)
  })

  it('picks independent users for two flags at 50 % (overlap near 25 %)', () => {
    const a = enabledAt('checkout_v2', 50)
    const b = enabledAt('dark_mode', 50)
    const both = [...a].filter((id) => b.has(id)).length
    expect(both / ids.length).toBeGreaterThan(0.23)
    expect(both / ids.length).toBeLessThan(0.27)
  })

  it('enables nobody at 0 % and everybody at 100 %', () => {
    expect(enabledAt('x', 0).size).toBe(0)
    expect(enabledAt('x', 100).size).toBe(ids.length)
  })
})

describe('reasons', () => {
  it('explains every answer', () => {
    expect(on(row({ is_enabled: false }), 'u1')).toEqual({
      flag_key: 'new_dashboard',
      is_enabled: false,
      reason: 'disabled',
    })
    expect(on(row({}), 'u1').reason).toBe('enabled')
    expect(on(row({ flag_type: 'percentage', percentage: 100 }), 'u1').reason).toBe('percentage_rollout')
    expect(on(row({ flag_type: 'percentage', percentage: 0 }), 'u1').reason).toBe('not_in_rollout')
    expect(on(row({ flag_type: 'user_list', user_ids: ['u1'] }), 'u1')).toMatchObject({
      is_enabled: true,
      reason: 'user_list',
    })
    expect(on(row({ flag_type: 'user_list', user_ids: ['u1'] }), 'u2')).toMatchObject({
      is_enabled: false,
      reason: 'not_in_user_list',
    })
    expect(on(row({ flag_type: 'plan_based', plans: ['Pro'] }), 'u1', 'pro')).toMatchObject({
      is_enabled: true,
      reason: 'plan',
    })
    expect(on(row({ flag_type: 'plan_based', plans: ['pro'] }), 'u1', 'free')).toMatchObject({
      is_enabled: false,
      reason: 'plan_not_included',
    })
    expect(on(row({ flag_type: 'percentage', percentage: 100 }), null).reason).toBe('not_in_rollout')
  })

  it('evaluates an expired flag as disabled from expires_at on', () => {
    const expires = new Date('2026-03-01T00:00:00Z')
    const r = row({ expires_at: expires })
    expect(on(r, 'u1', 'free', expires.getTime() - 1).is_enabled).toBe(true)
    expect(on(r, 'u1', 'free', expires.getTime())).toMatchObject({ is_enabled: false, reason: 'expired' })
    // A disabled flag says disabled whether or not it expired.
    expect(on(row({ expires_at: expires, is_enabled: false }), 'u1', 'free', expires.getTime()).reason).toBe('disabled')
  })
})

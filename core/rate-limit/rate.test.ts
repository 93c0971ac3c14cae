import { describe, expect, it } from 'bun:test'
import { parseRate } from './rate.ts'

describe('parseRate', () => {
  it('reads N/second|minute|hour|day', () => {
    expect(parseRate('60/minute')).toEqual({ limit: 60, windowMs: 60_000, text: '60/minute' })
    expect(parseRate('5/second')).toEqual({ limit: 5, windowMs: 1_000, text: '5/second' })
    expect(parseRate('1000/hour').windowMs).toBe(3_600_000)
    expect(parseRate('10/day').windowMs).toBe(86_400_000)
  })

  it('forgives spaces, case and a plural unit, and normalises the text', () => {
    expect(parseRate(' 10 / Minutes ')).toEqual({ limit: 10, windowMs: 60_000, text: '10/minute' })
  })

  it('refuses anything else with the expected form in the message', () => {
    for (const bad of [
      'abc',
      '',
      '60',
      '60/',
      '/minute',
      '0/minute',
      '-1/minute',
      '1.5/minute',
      '60/week',
      '60/minute/x',
    ]) {
      expect(() => parseRate(bad)).toThrow(`expected N/second|minute|hour|day, got "${bad}"`)
    }
  })
})

import { describe, expect, it } from 'bun:test'
import { jsonDepth } from './json-depth.ts'

describe('jsonDepth', () => {
  it('counts objects and arrays, not brackets inside strings', () => {
    expect(jsonDepth('{"a":1}', 64)).toBe(1)
    expect(jsonDepth('{"a":[{"b":[]}]}', 64)).toBe(4)
    expect(jsonDepth('{"a":"[[[[{{{{"}', 64)).toBe(1)
    expect(jsonDepth('{"a":"\\"[[["}', 64)).toBe(1)
    expect(jsonDepth('"plain"', 64)).toBe(0)
  })

  it('stops at the first level past the limit', () => {
    expect(jsonDepth('['.repeat(65) + ']'.repeat(65), 64)).toBe(65)
    expect(jsonDepth('['.repeat(64) + ']'.repeat(64), 64)).toBe(64)
  })

  it('measures a 20,000-deep body without recursion', () => {
    const deep = '{"x":'.repeat(20_000) + '1' + '}'.repeat(20_000)
    expect(jsonDepth(deep, 1_000_000)).toBe(20_000)
  })
})

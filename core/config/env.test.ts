import { describe, expect, it } from 'bun:test'
import { ConfigError, env, parseConfig } from './env.ts'
import { loadConfig } from '../app/config.ts'
import { definePlugin } from '../plugin/index.ts'

describe('env readers', () => {
  it('parses typed values and applies defaults', () => {
    const problems: string[] = []
    const c = parseConfig(
      { port: env.int('PORT', { default: 8000 }), on: env.bool('ON', { default: false }), list: env.list('L') },
      { PORT: '9000', L: 'a, b,,c' },
      problems,
    )
    expect(problems).toEqual([])
    expect(c).toEqual({ port: 9000, on: false, list: ['a', 'b', 'c'] })
  })

  it('reports every bad variable, one line each, naming it', () => {
    const problems: string[] = []
    parseConfig(
      { a: env.int('A', { min: 1 }), b: env.url('B'), c: env.bool('C'), d: env.string('D', { required: true }) },
      { A: '0', B: 'not a url', C: 'maybe' },
      problems,
    )
    expect(problems).toEqual([
      'Invalid A: expected an integer >= 1, got "0"',
      'Invalid B: expected a URL, got "not a url"',
      'Invalid C: expected true or false, got "maybe"',
      'D is required: expected a string',
    ])
  })

  it("never puts a secret's value in the error", () => {
    const problems: string[] = []
    const key = env.custom('KEY_JSON', 'a key', (raw) => JSON.parse(raw).key as string, { secret: true })
    parseConfig(
      { short: env.secret('S', { minLength: 32 }), key, plain: env.int('N') },
      { S: 'hunter2', KEY_JSON: '{"private_key":"-----BEGIN', N: 'x1' },
      problems,
    )
    expect(problems).toHaveLength(3)
    expect(problems.join('\n')).not.toContain('hunter2')
    expect(problems.join('\n')).not.toContain('BEGIN')
    expect(problems.find((p) => p.includes('KEY_JSON'))).toBe('Invalid KEY_JSON: expected a key')
    // Plain values are still echoed: they help fix the typo.
    expect(problems.find((p) => p.includes('Invalid N'))).toContain('"x1"')
  })

  it('fails the start on a bad core variable with a line naming it', () => {
    expect(() => loadConfig([], { RATE_LIMIT_DEFAULT: 'abc', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError)
    try {
      loadConfig([], { RATE_LIMIT_DEFAULT: 'abc', DATABASE_URL: 'mysql://x' })
    } catch (err) {
      const lines = (err as ConfigError).problems
      expect(lines).toContain('Invalid RATE_LIMIT_DEFAULT: expected N/second|minute|hour|day, got "abc"')
      expect(lines.some((l) => l.startsWith('Invalid DATABASE_URL'))).toBe(true)
    }
  })

  it('names a plugin variable that fails', () => {
    const p = definePlugin({ name: 'demo', config: { max: env.int('DEMO_MAX', { min: 1 }) } })
    expect(() => loadConfig([p], { DEMO_MAX: 'many' })).toThrow(
      'Invalid DEMO_MAX: expected an integer >= 1, got "many"',
    )
  })
})

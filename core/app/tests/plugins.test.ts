import { describe, expect, it } from 'bun:test'
import { ConfigError, env } from '../../config/index.ts'
import { definePlugin, optional, PluginGraphError } from '../../plugin/index.ts'
import { testApp } from '../../testing/index.ts'

/** A plugin whose service counts per app: proves setup runs once per app and state stays in it. */
const counter = definePlugin({
  name: 'test-counter',
  setup: () => {
    let count = 0
    return {
      service: { next: () => ++count, greet: (n: string) => `hello ${n}` },
      routes: { public: ({ router }) => router('/counter').get('/next', () => ({ n: count + 1 })) },
      // The payload is typed from EventMap (tsc fails here if it were unknown).
      on: { 'user.changed': ({ id }) => void id.length },
    }
  },
})

describe('plugins in createApp', () => {
  it('sets up dependencies first, hands their typed services over, and stops in reverse', async () => {
    const log: string[] = []
    const base = definePlugin({
      name: 'test-base',
      setup: () => {
        log.push('setup base')
        return {
          service: { greet: (n: string) => `hello ${n}` },
          start: () => void log.push('start base'),
          stop: () => void log.push('stop base'),
        }
      },
    })
    const top = definePlugin({
      name: 'test-top',
      dependsOn: { base },
      config: { greeting: env.string<string>('TEST_TOP_NAME', { default: 'world' }) },
      setup: ({ deps, config }) => {
        log.push('setup top')
        return {
          // deps.base is typed as base's service: no lookup by name, no cast.
          start: () => void log.push(`start top: ${deps.base.greet(config.greeting)}`),
          stop: () => void log.push('stop top'),
          routes: { public: ({ router }) => router('/top').get('/hello', () => ({ msg: deps.base.greet('http') })) },
        }
      },
    })
    const t = await testApp({ plugins: [top, base], env: { TEST_TOP_NAME: 'omni' } })
    expect(log).toEqual(['setup base', 'setup top', 'start base', 'start top: hello omni'])
    expect((await t.get('/api/v1/public/top/hello')).body).toEqual({ msg: 'hello http' })
    expect(t.app.service(base).greet('typed')).toBe('hello typed')
    await t.close()
    expect(log.slice(4)).toEqual(['stop top', 'stop base'])
  })

  it('gives an optional dependency when installed and undefined when absent', async () => {
    const seen: string[] = []
    const user = definePlugin({
      name: 'test-optional-user',
      // By name, through the part of counter's service it uses (core/plugin/ports.ts).
      optionalDependsOn: { counter: optional<{ greet(n: string): string }>('test-counter') },
      setup: ({ deps }) => {
        seen.push(deps.counter ? deps.counter.greet('present') : 'absent')
        return {}
      },
    })
    const withIt = await testApp({ plugins: [user, counter] })
    const without = await testApp({ plugins: [user] })
    expect(seen).toEqual(['hello present', 'absent'])
    await withIt.close()
    await without.close()
  })

  it('runs setup once per app: two apps keep apart state', async () => {
    const a = await testApp({ plugins: [counter] })
    const b = await testApp({ plugins: [counter] })
    a.app.service(counter).next()
    a.app.service(counter).next()
    expect((await a.get('/api/v1/public/counter/next')).body).toEqual({ n: 3 })
    expect((await b.get('/api/v1/public/counter/next')).body).toEqual({ n: 1 })
    expect(() => b.app.service(definePlugin({ name: 'test-absent' }))).toThrow('Plugin "test-absent" is not installed')
    await a.close()
    await b.close()
  })

  it('refuses a dependency that is not a plugin object', () => {
    expect(() => definePlugin({ name: 'test-bad', dependsOn: { missing: undefined as never } })).toThrow(
      'plugin "test-bad": dependency "missing" is not a plugin',
    )
  })

  it('fails the start naming both plugins of a missing or cyclic dependency', async () => {
    const absent = definePlugin({ name: 'test-absent' })
    const lonely = definePlugin({ name: 'test-lonely', dependsOn: { absent } })
    await expect(testApp({ plugins: [lonely] })).rejects.toThrow(
      'Plugin "test-lonely" depends on "test-absent", which is not installed',
    )
    // A cycle can only be declared through plugins named alike (imports cannot be circular).
    const a = definePlugin({ name: 'test-a', dependsOn: { b: definePlugin({ name: 'test-b' }) } })
    const b = definePlugin({ name: 'test-b', dependsOn: { a } })
    await expect(testApp({ plugins: [a, b] })).rejects.toThrow(PluginGraphError)
    await expect(testApp({ plugins: [a, b] })).rejects.toThrow(/"test-a" and "test-b"/)
  })

  it('reports every bad variable of the core and plugins, naming each', async () => {
    const p = definePlugin({
      name: 'test-cfg',
      config: { n: env.int('TEST_CFG_N', { min: 1 }), u: env.url('TEST_CFG_URL') },
    })
    try {
      await testApp({
        plugins: [p],
        env: { TEST_CFG_N: 'zero', TEST_CFG_URL: 'nope', RATE_LIMIT_AI: '10/fortnight' },
      })
      throw new Error('should have failed')
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).problems).toEqual([
        'Invalid RATE_LIMIT_AI: expected N/second|minute|hour|day, got "10/fortnight"',
        'Invalid TEST_CFG_N: expected an integer >= 1, got "zero"',
        'Invalid TEST_CFG_URL: expected a URL, got "nope"',
      ])
    }
  })
})

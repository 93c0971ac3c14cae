import { describe, expect, it } from 'bun:test'
import { ConfigError, env } from '../../config/index.ts'
import { definePlugin } from '../../plugin/types.ts'
import { PluginGraphError } from '../../plugin/graph.ts'
import { testApp } from '../../testing/index.ts'

declare module '../../plugin/types.ts' {
  interface PluginServices {
    'test-base': { greet(name: string): string }
  }
}

describe('plugins in createApp', () => {
  it('starts dependencies first, hands their services over, and stops in reverse', async () => {
    const log: string[] = []
    const base = definePlugin({
      name: 'test-base',
      provides: () => ({ greet: (n: string) => `hello ${n}` }),
      start: () => void log.push('start base'),
      stop: () => void log.push('stop base'),
    })
    const top = definePlugin({
      name: 'test-top',
      dependsOn: ['test-base'],
      config: { greeting: env.string<string>('TEST_TOP_NAME', { default: 'world' }) },
      start: (ctx) => void log.push(`start top: ${ctx.use('test-base').greet(ctx.config.greeting)}`),
      stop: () => void log.push('stop top'),
      public: ({ router, use }) => router('/top').get('/', () => ({ msg: use('test-base').greet('http') })),
    })
    const t = await testApp({ plugins: [top, base], env: { TEST_TOP_NAME: 'omni' } })
    expect(log).toEqual(['start base', 'start top: hello omni'])
    expect((await t.get('/api/v1/public/top')).body).toEqual({ msg: 'hello http' })
    await t.close()
    expect(log.slice(2)).toEqual(['stop top', 'stop base'])
  })

  it('refuses to use a plugin that is not a declared dependency', async () => {
    const base = definePlugin({ name: 'test-base', provides: () => ({ greet: (n: string) => n }) })
    const sneaky = definePlugin({ name: 'test-sneaky', start: (ctx) => void ctx.use('test-base') })
    await expect(testApp({ plugins: [base, sneaky] })).rejects.toThrow('Plugin "test-sneaky" uses "test-base" without declaring it in dependsOn')
  })

  it('fails the start naming both plugins of a missing or cyclic dependency', async () => {
    const lonely = definePlugin({ name: 'test-lonely', dependsOn: ['test-absent'] })
    await expect(testApp({ plugins: [lonely] })).rejects.toThrow('Plugin "test-lonely" depends on "test-absent", which is not installed')
    const a = definePlugin({ name: 'test-a', dependsOn: ['test-b'] })
    const b = definePlugin({ name: 'test-b', dependsOn: ['test-a'] })
    await expect(testApp({ plugins: [a, b] })).rejects.toThrow(PluginGraphError)
    await expect(testApp({ plugins: [a, b] })).rejects.toThrow(/"test-a" and "test-b"/)
  })

  it('reports every bad variable of the core and plugins, naming each', async () => {
    const p = definePlugin({ name: 'test-cfg', config: { n: env.int('TEST_CFG_N', { min: 1 }), u: env.url('TEST_CFG_URL') } })
    try {
      await testApp({ plugins: [p], env: { TEST_CFG_N: 'zero', TEST_CFG_URL: 'nope', RATE_LIMIT_AI: '10/fortnight' } })
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

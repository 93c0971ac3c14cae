/**
 * The plugins' drain hook (docs/writing-a-plugin.md#drain): `app.drainPlugins()` calls each hook
 * once, in reverse boot order (as stop), runs the others when one fails, and `app.stop()` alone
 * never calls it. The server side (a real listener, streams ended at once) is tested in
 * plugins/tickets/tests/sse-drain.http.test.ts.
 */
import { describe, expect, it } from 'bun:test'
import { createLogger } from '../../observability/index.ts'
import { type AnyPlugin, definePlugin } from '../../plugin/index.ts'
import { testApp } from '../../testing/index.ts'

describe('the drain hook', () => {
  it('runs once per app in reverse boot order, survives a failing hook, and stop alone skips it', async () => {
    const log: string[] = []
    const lines: string[] = []
    /** A plugin that logs its drain (then runs `then`) and its stop. */
    const logging = (name: string, dependsOn: Record<string, AnyPlugin>, then?: () => Promise<void>) =>
      definePlugin({
        name: `test-drain-${name}`,
        dependsOn,
        setup: () => ({
          drain: async () => {
            log.push(`drain ${name}`)
            await then?.()
          },
          stop: () => void log.push(`stop ${name}`),
        }),
      })
    const base = logging('base', {})
    const middle = logging('middle', { base }, async () => {
      throw new Error('middle could not drain')
    })
    // Slow: the next hook starts only once it is done (one after another, not at once).
    const top = logging('top', { middle }, async () => {
      await Bun.sleep(20)
      log.push('done top')
    })
    const logger = createLogger({ level: 'error', write: (line: string) => void lines.push(line) })
    const t = await testApp({ plugins: [base, top, middle], logger })
    try {
      await Promise.all([t.app.drainPlugins(), t.app.drainPlugins()])
      expect(log).toEqual(['drain top', 'done top', 'drain middle', 'drain base'])
      await t.app.drainPlugins()
      expect(log).toHaveLength(4)
      const failure = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'plugin drain failed')
      expect(failure?.plugin).toBe('test-drain-middle')
    } finally {
      await t.close()
    }
    expect(log.slice(4)).toEqual(['stop top', 'stop middle', 'stop base'])

    // An app stopped without a shutdown (tests, scripts) never drains.
    log.length = 0
    const other = await testApp({ plugins: [base] })
    await other.close()
    expect(log).toEqual(['stop base'])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { MeterEvent } from '../meter.ts'
import { definePlugin } from '../../plugin/index.ts'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

const recorded: MeterEvent[] = []
let flushed = 0
const sink = definePlugin({
  name: 'test-sink',
  setup: () => ({
    meterSink: {
      record: (e) => void recorded.push(e),
      flush: async () => {
        flushed++
      },
    },
  }),
})

describe('metering hook', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({ plugins: [createEchoPlugin().plugin, sink] })
  })
  afterAll(() => t?.close())

  it('meters api_requests for every authenticated request, nothing for public ones', async () => {
    await t.as('meter-user').get('/api/v1/app/echo/me')
    await t.as('meter-user').get('/api/v2/app/echo/items')
    await t.get('/api/v1/public/echo/ping')
    expect(recorded.map((e) => [e.userId, e.metric, e.value, e.dimensions.version])).toEqual([
      ['meter-user', 'api_requests', 1, 'v1'],
      ['meter-user', 'api_requests', 1, 'v2'],
    ])
  })

  it('is a no-op without a sink and flushes the sink on stop', async () => {
    const bare = await testApp({ plugins: [createEchoPlugin().plugin] })
    expect((await bare.as('x').get('/api/v1/app/echo/me')).status).toBe(200)
    await bare.close()
    const before = flushed
    await t.app.stop()
    expect(flushed).toBe(before + 1)
  })
})

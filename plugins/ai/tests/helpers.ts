/** Shared by the AI tests: an app wired to the three fakes, a meter recorder and an SSE reader. */
import { definePlugin, type MeterEvent } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import ai from '../index.ts'
import { readSse } from '../sse.ts'
import { startFake, type FakeProvider } from './fakes.ts'

export interface AiFixture {
  t: TestApp
  openai: FakeProvider
  anthropic: FakeProvider
  perplexity: FakeProvider
  metered: MeterEvent[]
  /** A fresh user per call: the `ai` class allows 10 requests a minute per user. */
  user(): ReturnType<TestApp['as']> & { id: string }
  close(): Promise<void>
}

let users = 0

export async function aiFixture(
  env: Record<string, string> = {},
  keys = { openai: true, anthropic: true, perplexity: true },
): Promise<AiFixture> {
  const [openai, anthropic, perplexity] = await Promise.all([
    startFake('openai'),
    startFake('anthropic'),
    startFake('perplexity'),
  ])
  const metered: MeterEvent[] = []
  const recorder = definePlugin({
    name: 'meter-recorder',
    setup: () => ({ meterSink: { record: (e) => void metered.push(e), flush: async () => {} } }),
  })
  const t = await testApp({
    plugins: [ai, recorder],
    env: {
      OPENAI_BASE_URL: openai.url,
      ANTHROPIC_BASE_URL: anthropic.url,
      PERPLEXITY_BASE_URL: perplexity.url,
      ...(keys.openai ? { OPENAI_API_KEY: openai.key } : {}),
      ...(keys.anthropic ? { ANTHROPIC_API_KEY: anthropic.key } : {}),
      ...(keys.perplexity ? { PERPLEXITY_API_KEY: perplexity.key } : {}),
      ...env,
    },
  })
  return {
    t,
    openai,
    anthropic,
    perplexity,
    metered,
    user: () => {
      const id = `ai-user-${++users}`
      return Object.assign(t.as(id), { id })
    },
    async close() {
      await t.close()
      await Promise.all([openai.close(), anthropic.close(), perplexity.close()])
    },
  }
}

/** The `data:` payloads of a full SSE body, in order, plus any named events. */
export async function sseOf(text: string) {
  const data: string[] = []
  const named: { event: string; data: string }[] = []
  for await (const ev of readSse(new Response(text).body!)) {
    if (ev.event) named.push({ event: ev.event, data: ev.data })
    else data.push(ev.data)
  }
  return { data, named }
}

export const tokensOf = (metered: MeterEvent[], userId: string) =>
  metered.filter((e) => e.userId === userId && e.metric === 'ai_tokens')

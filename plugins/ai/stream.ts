/**
 * `stream: true`: the provider's own stream (OpenAI chunks, Anthropic events) relayed as the SSE of
 * docs/plugins/ai.md#streaming (`data: <text>` ... `data: [DONE]`). A client that goes away aborts the upstream
 * request, and whatever was used so far is still metered.
 */
import type { Logger } from '../../core/index.ts'
import type { ChatRequest, Provider, Usage } from './providers/types.ts'
import { readSse, SSE_DONE, sseData, sseEvent } from './sse.ts'

/** About four characters a token: used only when a provider did not report usage (an aborted stream). */
export const estimateTokens = (chars: number) => Math.ceil(chars / 4)

export interface RelayOptions {
  provider: Provider
  model: string
  request: ChatRequest
  /** Until the response starts, then the longest silence between two chunks. */
  timeoutMs: number
  clientSignal?: AbortSignal
  inputChars: number
  logger: Logger
  send(req: ChatRequest, signal: AbortSignal, timedOut: () => boolean): Promise<Response>
  refuse(res: Response): Promise<never>
  /** A 502 naming the provider. */
  upstreamError(status: number | undefined, message: string): Error
  redact(text: string): string
  count(outcome: 'ok' | 'error' | 'timeout' | 'aborted'): void
  meter(tokens: number): void
}

export async function relayStream(o: RelayOptions): Promise<Response> {
  const upstream = new AbortController()
  let timedOut = false
  let clientGone = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      upstream.abort()
    }, o.timeoutMs)
  }
  const onClientAbort = () => {
    clientGone = true
    upstream.abort()
  }
  o.clientSignal?.addEventListener('abort', onClientAbort, { once: true })
  const release = () => {
    clearTimeout(timer)
    o.clientSignal?.removeEventListener('abort', onClientAbort)
  }

  const started = performance.now()
  arm()
  let res: Response
  try {
    res = await o.send(o.request, upstream.signal, () => timedOut)
    if (!res.ok || !res.body) await o.refuse(res)
  } catch (err) {
    release()
    throw err
  }

  // A gateway that ignores `stream: true` answers one JSON document: relay it as one event.
  if ((res!.headers.get('content-type') ?? '').includes('application/json')) {
    return relayWhole(o, res!, release)
  }
  const usage: Partial<Usage> = {}
  let outputChars = 0
  let finishReason: string | undefined
  let settled = false
  const finish = (outcome: 'ok' | 'error' | 'timeout' | 'aborted', error?: string) => {
    if (settled) return
    settled = true
    release()
    // Provider counts when it gave them; otherwise (an aborted stream) an estimate of what was used.
    const prompt = usage.prompt_tokens ?? estimateTokens(o.inputChars)
    const reported = usage.completion_tokens
    const completion =
      outcome === 'ok' && reported !== undefined ? reported : Math.max(reported ?? 0, estimateTokens(outputChars))
    o.meter(prompt + completion)
    o.count(outcome)
    o.logger.info('AI stream finished', {
      provider: o.provider.name,
      model: o.model,
      outcome,
      finish_reason: finishReason,
      prompt_tokens: prompt,
      completion_tokens: completion,
      latency_ms: Math.round(performance.now() - started),
      ...(error ? { error } : {}),
    })
  }

  const events = readSse(res!.body!, arm)
  let closed = false
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const end = (chunk?: Uint8Array) => {
        if (closed) return
        closed = true
        if (chunk) controller.enqueue(chunk)
        controller.close()
      }
      // Only the provider's silence counts, not a slow reader: the clock runs while we wait for it.
      arm()
      try {
        for (;;) {
          const next = await events.next()
          if (next.done) {
            // The connection ended without the provider's end marker: done as far as we know.
            end(SSE_DONE)
            return finish('ok')
          }
          const piece = o.provider.event(next.value)
          if (!piece) continue
          if (piece.usage) Object.assign(usage, piece.usage)
          if (piece.finishReason) finishReason = piece.finishReason
          if (piece.error) {
            const message = o.redact(`${o.provider.name} stream failed: ${piece.error}`)
            end(sseEvent('error', { code: 'EXTERNAL_SERVICE_ERROR', message }))
            upstream.abort()
            return finish('error', message)
          }
          if (piece.done) {
            end(SSE_DONE)
            upstream.abort()
            return finish('ok')
          }
          if (piece.text) {
            outputChars += piece.text.length
            controller.enqueue(sseData(piece.text))
            clearTimeout(timer)
            return
          }
        }
      } catch (err) {
        if (clientGone) return finish('aborted')
        const message = timedOut
          ? `${o.provider.name} stream stalled for ${o.timeoutMs} ms`
          : o.redact(`${o.provider.name} stream broke: ${(err as Error).message}`)
        end(sseEvent('error', { code: 'EXTERNAL_SERVICE_ERROR', message }))
        finish(timedOut ? 'timeout' : 'error', message)
      }
    },
    cancel() {
      // The client disconnected: stop paying for tokens nobody reads.
      clientGone = true
      closed = true
      upstream.abort()
      finish('aborted')
    },
  })

  return new Response(body, { headers: sseHeaders(o) })
}

const sseHeaders = (o: RelayOptions) => ({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  'x-ai-provider': o.provider.name,
  'x-ai-model': o.model,
})

/** The whole answer as one `data:` event and [DONE], metered with the provider's own counts. */
async function relayWhole(o: RelayOptions, res: Response, release: () => void): Promise<Response> {
  let text: string
  let tokens: number
  try {
    const completion = o.provider.parse(await res.json())
    text = completion.content
    tokens = completion.usage.total_tokens || estimateTokens(o.inputChars) + estimateTokens(text.length)
  } catch (err) {
    release()
    o.count('error')
    throw o.upstreamError(res.status, `unreadable answer (${(err as Error).message})`)
  }
  release()
  o.meter(tokens)
  o.count('ok')
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (text) controller.enqueue(sseData(text))
      controller.enqueue(SSE_DONE)
      controller.close()
    },
  })
  return new Response(body, { headers: sseHeaders(o) })
}

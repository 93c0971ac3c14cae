/** Server-Sent Events both ways: a reader for providers' streams and the writer of our own (docs/plugins/ai.md#streaming). */

export interface SseEvent {
  /** The `event:` field; undefined means the default `message`. */
  event?: string
  data: string
}

/**
 * Parses an event stream (WHATWG HTML "event stream interpretation"): events end at a blank
 * line, `data:` lines join with "\n", one space after the colon is dropped, `:` lines are comments.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, onChunk?: () => void): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let event: string | undefined
  let data: string[] = []
  const line = (raw: string): SseEvent | undefined => {
    if (raw === '') {
      const out = data.length ? { event, data: data.join('\n') } : undefined
      event = undefined
      data = []
      return out
    }
    if (raw.startsWith(':')) return undefined
    const i = raw.indexOf(':')
    const field = i < 0 ? raw : raw.slice(0, i)
    let value = i < 0 ? '' : raw.slice(i + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
    return undefined
  }
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      onChunk?.()
      buffer += decoder.decode(value, { stream: true })
      let at: number
      while ((at = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
        if (buffer[at] === '\r' && at === buffer.length - 1) break
        const raw = buffer.slice(0, at)
        buffer = buffer.slice(at + (buffer.startsWith('\r\n', at) ? 2 : 1))
        const ev = line(raw)
        if (ev) yield ev
      }
    }
    const last = line(buffer) ?? line('')
    if (last) yield last
  } finally {
    reader.releaseLock()
  }
}

const encoder = new TextEncoder()

/** One text chunk as an SSE event; line breaks become several `data:` lines, which clients join back. */
export function sseData(text: string): Uint8Array {
  return encoder.encode(
    `${text
      .split(/\r\n|\r|\n/)
      .map((l) => `data: ${l}`)
      .join('\n')}\n\n`,
  )
}

export const SSE_DONE = encoder.encode('data: [DONE]\n\n')

/** A named event (clients that only read `message` events ignore it). */
export function sseEvent(name: string, payload: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`)
}

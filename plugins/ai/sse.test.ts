import { describe, expect, it } from 'bun:test'
import { readSse, sseData, sseEvent } from './sse.ts'

/** A body delivered in the given pieces, to cut lines and events at awkward places. */
const body = (...pieces: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(new TextEncoder().encode(p))
      c.close()
    },
  })

const all = async (stream: ReadableStream<Uint8Array>) => {
  const out = []
  for await (const ev of readSse(stream)) out.push(ev)
  return out
}

describe('readSse', () => {
  it('joins data lines, keeps event names and skips comments', async () => {
    expect(
      await all(body(': keep-alive\n', 'event: message_start\ndata: {"a":1}\n\n', 'data: one\ndata: two\n\n')),
    ).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: undefined, data: 'one\ntwo' },
    ])
  })

  it('reassembles lines split across chunks and CRLF split between chunks', async () => {
    expect(await all(body('da', 'ta: hel', 'lo\r', '\n\r\n', 'data:no-space\r\rdata: [DONE]\n\n'))).toEqual([
      { event: undefined, data: 'hello' },
      { event: undefined, data: 'no-space' },
      { event: undefined, data: '[DONE]' },
    ])
  })

  it('drops exactly one space after the colon', async () => {
    expect(await all(body('data:  world\n\n'))).toEqual([{ event: undefined, data: ' world' }])
  })

  it('dispatches a last event without its blank line', async () => {
    expect(await all(body('data: tail'))).toEqual([{ event: undefined, data: 'tail' }])
  })
})

describe('sse writer', () => {
  it('writes the seed format and splits line breaks into data lines', async () => {
    const dec = (u: Uint8Array) => new TextDecoder().decode(u)
    expect(dec(sseData(' world'))).toBe('data:  world\n\n')
    expect(dec(sseData('a\nb\r\nc'))).toBe('data: a\ndata: b\ndata: c\n\n')
    expect(dec(sseEvent('error', { code: 'X' }))).toBe('event: error\ndata: {"code":"X"}\n\n')
    const back = await all(body(dec(sseData('a\nb'))))
    expect(back[0]!.data).toBe('a\nb')
  })
})

/** A reader of text/event-stream bodies for tests: frames queue up until a test takes them. */

export interface SseFrame {
  id?: string
  event?: string
  data?: any
  /** A comment line (`:hb`), without the colon. */
  comment?: string
  retry?: number
}

export class SseReader {
  readonly frames: SseFrame[] = []
  /** Set when the stream ended (done) or failed (the error). */
  ended: { error?: unknown } | undefined
  private waiters: { pred: (f: SseFrame) => boolean; resolve: (f: SseFrame) => void; reject: (e: Error) => void }[] = []
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>

  constructor(readonly response: Response) {
    this.reader = response.body!.getReader()
    void this.pump()
  }

  private async pump() {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for (;;) {
        const { done, value } = await this.reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          for (const frame of parse(block)) this.arrive(frame)
        }
      }
      this.finish({})
    } catch (error) {
      this.finish({ error })
    }
  }

  private arrive(frame: SseFrame) {
    const i = this.waiters.findIndex((w) => w.pred(frame))
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(frame)
    // Passed over by a waiting next(): consumed, as the frames before a queued match are.
    else if (this.waiters.length === 0) this.frames.push(frame)
  }

  private finish(how: { error?: unknown }) {
    this.ended = how
    for (const w of this.waiters.splice(0)) w.reject(new Error(`stream ended (${String(how.error ?? 'done')})`))
  }

  /** The first frame (queued or coming) that matches; it and every frame before it are consumed. */
  next(pred: (f: SseFrame) => boolean = (f) => f.event !== undefined, timeoutMs = 5000): Promise<SseFrame> {
    const i = this.frames.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.frames.splice(0, i + 1).at(-1)!)
    this.frames.length = 0
    if (this.ended) return Promise.reject(new Error('stream ended'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(new Error(`no matching frame in ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = {
        pred,
        resolve: (f: SseFrame) => {
          clearTimeout(timer)
          resolve(f)
        },
        reject: (e: Error) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.waiters.push(waiter)
    })
  }

  /** Events (not comments) received up to and including the first that matches `until`. */
  async eventsUntil(until: (f: SseFrame) => boolean, timeoutMs = 5000): Promise<SseFrame[]> {
    const seen: SseFrame[] = []
    await this.next((f) => {
      if (f.event !== undefined) seen.push(f)
      return f.event !== undefined && until(f)
    }, timeoutMs)
    return seen
  }

  /** Resolves when the stream has ended (within `ms`, polled), with how it ended; undefined if still open. */
  async endedWithin(ms: number): Promise<{ error?: unknown } | undefined> {
    const until = Date.now() + ms
    while (!this.ended && Date.now() < until) await new Promise((res) => setTimeout(res, 20))
    return this.ended
  }

  close() {
    void this.reader.cancel().catch(() => {})
  }
}

function parse(block: string): SseFrame[] {
  const frame: SseFrame = {}
  const out: SseFrame[] = []
  let data: string[] | undefined
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      out.push({ comment: line.slice(1) })
      continue
    }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') frame.id = value
    else if (field === 'event') frame.event = value
    else if (field === 'data') (data ??= []).push(value)
    else if (field === 'retry') frame.retry = Number(value)
  }
  if (data) frame.data = JSON.parse(data.join('\n'))
  // A block with only `retry:` (the opening one, the shutdown hint) is a frame too.
  if (frame.id !== undefined || frame.event !== undefined || data || frame.retry !== undefined) out.push(frame)
  return out
}

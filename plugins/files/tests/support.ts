/** Test helpers: scoped test API keys (from core/testing), a meter sink that records, temp data dirs and signed-URL requests. */
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { definePlugin, type App, type MeterEvent } from '../../../core/index.ts'

/** Bearer `tk_<user>~<scope,scope>` standing in for the users plugin's API keys (core/testing). */
export { keyHeader, scopedKeys } from '../../../core/testing/index.ts'

/** Records every meter() call, as the usage plugin's sink would receive them. */
export function meterRecorder() {
  const events: MeterEvent[] = []
  const plugin = definePlugin({
    name: 'test-meter',
    setup: () => ({ meterSink: { record: (e) => void events.push(e), flush: async () => {} } }),
  })
  return { plugin, events }
}

export const tempDataDir = () => mkdtempSync(join(tmpdir(), 'omnistack-files-'))
export const sha256 = (data: Uint8Array | ArrayBuffer) =>
  createHash('sha256').update(new Uint8Array(data)).digest('hex')

/** Bytes that are not text, so a round trip proves binary safety. */
export function randomBytesOf(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(size, i + 65536)))
  return out
}

/** Sends a request to a URL the server handed out (PUBLIC_URL origin) through app.handle. */
export function viaApp(app: App, url: string, init: RequestInit = {}) {
  const u = new URL(url)
  return app.handle(new Request(`http://localhost${u.pathname}${u.search}`, init), '127.0.0.1')
}

/** A body without Content-Length (chunked), so only the server's own count can catch an oversize. */
export function chunked(data: Uint8Array, chunk = 1024): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) return c.close()
      c.enqueue(data.slice(at, at + chunk))
      at += chunk
    },
  })
}

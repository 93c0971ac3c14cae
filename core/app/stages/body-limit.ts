/**
 * Stage `body limit`: 413 before anything reads a body larger than MAX_JSON_BYTES (JSON, forms,
 * text) or MAX_UPLOAD_BYTES (anything else, and the plugins' upload paths). A declared
 * Content-Length is checked at once; a chunked body is bounded while it is read.
 */
import { payloadTooLarge } from '../../errors/index.ts'
import type { Exchange } from '../../http/index.ts'

const STRUCTURED = /^(application\/(json|x-www-form-urlencoded|[\w.+-]+\+json)|text\/|multipart\/form-data)/i

export interface BodyLimits {
  maxJsonBytes: number
  maxUploadBytes: number
  /** Paths after /api/{v} whose bodies are file uploads (PluginDefinition.uploadPaths): bounded by maxUploadBytes whatever their type. */
  uploadPaths?: readonly string[]
}

export function bodyLimitStage(d: BodyLimits) {
  return function bodyLimit(x: Exchange): void {
    // Elysia reads no body for GET and HEAD: nothing to bound.
    if (x.method === 'GET' || x.method === 'HEAD') return
    const request = x.request
    const headers = request.headers
    const length = headers.get('content-length')
    const upload = d.uploadPaths?.some((p) => x.rest.startsWith(p)) ?? false
    const structured = !upload && STRUCTURED.test(headers.get('content-type') ?? '')
    const max = structured ? d.maxJsonBytes : d.maxUploadBytes
    if (length !== null && Number(length) > max) throw payloadTooLarge(max)
    if (length === null && structured && request.body) {
      x.request = new Request(request.url, {
        method: x.method,
        headers,
        body: request.body.pipeThrough(limitStream(max)),
      })
    }
  }
}

/** A stream that errors with 413 once more than `max` bytes went through. */
function limitStream(max: number) {
  let size = 0
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength
      if (size > max) controller.error(payloadTooLarge(max))
      else controller.enqueue(chunk)
    },
  })
}

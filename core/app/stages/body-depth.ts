/**
 * Stage `body depth`: a JSON body nesting deeper than MAX_JSON_DEPTH is refused (400) in one
 * linear pass before Elysia parses and validates it (docs/security.md#bodies). A small body nested
 * thousands of levels deep would otherwise cost seconds of validation and overflow the stack
 * while the error is built. Runs after authentication and the rate limit, so only a caller who
 * may send bodies gets one read; the size was bounded by the `body limit` stage already.
 */
import { badRequest } from '../../errors/index.ts'
import { jsonDepth } from '../../http/index.ts'
import type { Exchange } from '../../http/index.ts'

const JSON_TYPE = /^application\/([\w.+-]+\+)?json/i
const decoder = new TextDecoder()

/** `uploadPaths`: file uploads of any type (a JSON file too) are not request bodies to check. */
export function bodyDepthStage(maxDepth: number, uploadPaths: readonly string[] = []) {
  return function bodyDepth(x: Exchange): void | Promise<void> {
    if (x.method === 'GET' || x.method === 'HEAD') return
    const request = x.request
    if (request.body === null || !JSON_TYPE.test(request.headers.get('content-type') ?? '')) return
    if (uploadPaths.some((p) => x.rest.startsWith(p))) return
    // Read once, check, and hand Elysia the same bytes (signed webhooks verify them as received).
    return request.arrayBuffer().then((bytes) => {
      if (jsonDepth(decoder.decode(bytes), maxDepth) > maxDepth) {
        throw badRequest(`The JSON body nests deeper than ${maxDepth} levels`, { field: 'body', max_depth: maxDepth })
      }
      x.request = new Request(request.url, { method: x.method, headers: request.headers, body: bytes })
    })
  }
}

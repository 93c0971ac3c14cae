/**
 * Stages `version` and `request id`: which API version and zone a request is for (docs/versioning.md#picking-a-version), and
 * its X-Request-ID and trace span. Unversioned `/api/...` paths take Accept-Version /
 * X-API-Version, else the default, and are rewritten to `/api/{v}/...` for routing.
 */
import { badRequest } from '../../errors/index.ts'
import type { Exchange } from '../../http/index.ts'
import { requestIdFrom, API_VERSIONS, headerVersion, isApiVersion, type ApiVersion } from '../../http/index.ts'
import type { Tracing } from '../../observability/index.ts'

/**
 * For `/api/v<digits>` followed by `/` or the end, the index where the version ends; else -1.
 * By hand rather than a regex: it runs on every request.
 */
export function versionEnd(path: string): number {
  if (!path.startsWith('/api/v')) return -1
  let i = 6
  while (i < path.length) {
    const c = path.charCodeAt(i)
    if (c < 48 || c > 57) break
    i++
  }
  if (i === 6 || (i < path.length && path.charCodeAt(i) !== 47)) return -1
  return i
}

/** Where the path starts in an absolute URL. */
const pathStart = (url: string) => url.indexOf('/', url.indexOf('//') + 2)

export function pathOf(url: string): string {
  const start = pathStart(url)
  const q = url.indexOf('?', start)
  return q < 0 ? url.slice(start) : url.slice(start, q)
}

function zoneOf(rest: string): Exchange['zone'] {
  if (rest.startsWith('/app/') || rest === '/app') return 'app'
  if (rest.startsWith('/admin/') || rest === '/admin') return 'admin'
  if (rest.startsWith('/public/') || rest === '/public') return 'public'
  return 'none'
}

export function versionStage(defaultVersion: ApiVersion) {
  return function version(x: Exchange): void {
    let path = pathOf(x.request.url)
    let requested: string | undefined
    let end = versionEnd(path)
    if (end < 0 && (path === '/api' || path.startsWith('/api/'))) {
      requested = headerVersion(x.request.headers, defaultVersion)
      const v = isApiVersion(requested) ? requested : defaultVersion
      const url = x.request.url
      const start = pathStart(url)
      x.request = new Request(url.slice(0, start) + '/api/' + v + url.slice(start + 4), x.request)
      path = '/api/' + v + path.slice(4)
      end = versionEnd(path)
    }
    x.path = path
    if (end < 0) return
    requested ??= path.slice(5, end)
    x.requestedVersion = requested
    x.rest = path.slice(end)
    x.zone = zoneOf(x.rest)
    if (!isApiVersion(requested)) throw badRequest(`Unknown API version ${requested}`, { supported: [...API_VERSIONS] })
    x.version = requested
  }
}

/**
 * X-Request-ID (the caller's when valid, else a UUID) and the request's span. Also called by the
 * error path when the version stage refused the request before this stage ran.
 */
export function requestIdStage(tracing: Tracing) {
  return function requestId(x: Exchange): void {
    if (x.id) return
    const headers = x.request.headers
    x.id = requestIdFrom(headers) // sent as X-Request-ID by the headers stage
    x.span = tracing.startRequestSpan(x.method, x.path, headers)
  }
}

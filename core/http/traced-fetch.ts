/**
 * `tracedFetch`: the platform's fetch with a CLIENT span and W3C Trace Context when a traced
 * request is active (docs/observability.md#child-spans); exactly `fetch` otherwise. Plugins reach
 * it through core/index.ts for every outbound call (Stripe, AI providers, webhooks, Google Play).
 *
 * The span ends when the response's status and headers arrive (the body is the caller's to read).
 * `url.full` never carries credentials or query values: both are replaced by `REDACTED`.
 */
import { context, trace, type TextMapSetter } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions'
import { endSpan, serverAttributes, startClientSpan, tracedRequestActive } from '../observability/index.ts'

const propagator = new W3CTraceContextPropagator()
const headerSetter: TextMapSetter<Headers> = { set: (h, key, value) => h.set(key, value) }
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 }

export function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (!tracedRequestActive()) return fetch(input, init)
  let url: URL
  try {
    url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
  } catch {
    return fetch(input, init) // fetch gives the caller its own error for a malformed URL
  }
  const original = init?.method ?? (input instanceof Request ? input.method : 'GET')
  const method = original.toUpperCase()
  const known = METHODS.has(method)
  const span = startClientSpan(known ? method : 'HTTP', {
    [ATTR_HTTP_REQUEST_METHOD]: known ? method : '_OTHER',
    ...(known ? {} : { [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: original }),
    ...serverAttributes(url.hostname, url.port || DEFAULT_PORTS[url.protocol]),
    [ATTR_URL_FULL]: redactedUrl(url),
  })
  if (!span) return fetch(input, init)

  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
  propagator.inject(trace.setSpan(context.active(), span), headers, headerSetter)
  return fetch(input, { ...init, headers }).then(
    (res) => {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.status)
      // Semconv for client spans: a 4xx is an error too (the call did not do what was asked).
      if (res.status >= 400) endSpan(span, undefined, String(res.status))
      else endSpan(span)
      return res
    },
    (err) => {
      endSpan(span, err)
      throw err
    },
  )
}

/** The URL without user, password, query values or fragment. */
export function redactedUrl(url: URL): string {
  const u = new URL(url.href)
  if (u.username) u.username = 'REDACTED'
  if (u.password) u.password = 'REDACTED'
  u.hash = ''
  if (u.search) {
    const keys = [...new Set(u.searchParams.keys())]
    u.search = keys.map((k) => `${encodeURIComponent(k)}=REDACTED`).join('&')
  }
  return u.href
}

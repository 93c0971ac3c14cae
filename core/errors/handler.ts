/** The one place errors become answers (the request pipeline's `fail`, core/app/pipeline.ts): {error: {code, message, details}} (+ meta in v2). No stack or SQL leaks. */
import type { Logger } from '../observability/index.ts'
import { AppError } from './app-error.ts'
import { isDependencyUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from './unavailable.ts'

/**
 * The v2 `meta` of an error body, with the fields of core/http/envelope.ts's Meta. Built here:
 * core/errors sits below core/http in the layers (http throws AppErrors), so it cannot import it.
 */
const meta = (requestId: string) => ({
  request_id: requestId,
  timestamp: new Date().toISOString(),
  version: 'v2' as const,
})

export interface ErrorView {
  status: number
  body: { error: { code: string; message: string; details: Record<string, unknown> } }
  headers: Record<string, string>
}

interface ValidationIssue {
  path?: string
  message?: string
  summary?: string
}

/**
 * Elysia's ValidationError carries TypeBox issues with JSON-pointer paths ('/name'). Query
 * numbers are checked one property at a time and lose their name ('property' errors with an
 * empty path): the field is then the query key whose raw value is the one refused.
 */
function validationView(error: unknown, query: URLSearchParams | undefined): ErrorView {
  const e = error as { all?: ValidationIssue[]; type?: string; valueError?: ValidationIssue; value?: unknown }
  const unnamed = () => {
    if (e.type === 'property' && query) {
      for (const [k, v] of query) if (v === String(e.value)) return k
    }
    return e.type === 'property' ? 'query' : (e.type ?? 'body')
  }
  const issues = (e.all ?? (e.valueError ? [e.valueError] : [])).map((i) => ({
    field: (i.path ?? '').replace(/^\//, '').replace(/\//g, '.') || unnamed(),
    message: i.summary ?? i.message ?? 'Invalid value',
  }))
  const first = issues[0] ?? { field: e.type ?? 'body', message: 'Invalid value' }
  return {
    status: 422,
    body: {
      error: {
        code: 'VALIDATION_ERROR',
        message: `${first.field}: ${first.message}`,
        details: { field: first.field, errors: issues.slice(0, 20) },
      },
    },
    headers: {},
  }
}

const simple = (status: number, code: string, message: string, details: Record<string, unknown> = {}): ErrorView => ({
  status,
  body: { error: { code, message, details } },
  headers: {},
})

/**
 * Maps anything thrown to the contract's shape. `elysiaCode` is Elysia's classification
 * (VALIDATION, PARSE, NOT_FOUND ...); AppError is recognised with instanceof (docs/performance-notes.md#elysia-replaces-an-errors-code).
 */
export function toErrorView(
  error: unknown,
  elysiaCode: unknown,
  requestId: string,
  logger: Logger,
  query?: URLSearchParams,
): ErrorView {
  // Elysia wraps what a parse hook throws (our 413 for a streamed body) in a ParseError.
  const cause = (error as { cause?: unknown })?.cause
  if (!(error instanceof AppError) && cause instanceof AppError) error = cause
  if (error instanceof AppError) {
    return {
      status: error.status,
      body: { error: { code: error.errorCode, message: error.message, details: error.details } },
      headers: error.headers,
    }
  }
  if (isDependencyUnavailable(error)) {
    logger.warn('dependency unavailable', { request_id: requestId, error })
    const view = simple(503, 'SERVICE_UNAVAILABLE', 'A service this request needs is temporarily unavailable', {
      retry_after: UNAVAILABLE_RETRY_AFTER_SECONDS,
    })
    view.headers = { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) }
    return view
  }
  // PostgreSQL refuses NUL characters in text (22021) and in jsonb (22P05): client input, not a bug.
  const pgCode = (error as { code?: unknown })?.code
  if (pgCode === '22021' || pgCode === '22P05') {
    return simple(400, 'BAD_REQUEST', 'The request contains characters that cannot be stored (NUL)')
  }
  switch (elysiaCode) {
    case 'VALIDATION':
      return validationView(error, query)
    case 'PARSE':
      return simple(400, 'BAD_REQUEST', 'Malformed request body')
    case 'NOT_FOUND':
      return simple(404, 'NOT_FOUND', 'Route not found')
    case 'INVALID_COOKIE_SIGNATURE':
    case 'INVALID_FILE_TYPE':
      return simple(400, 'BAD_REQUEST', 'Invalid request')
  }
  // Elysia's status() errors and framework errors that carry a 4xx status.
  const status = (error as { status?: unknown })?.status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      status === 404
        ? 'NOT_FOUND'
        : status === 413
          ? 'PAYLOAD_TOO_LARGE'
          : status === 405
            ? 'METHOD_NOT_ALLOWED'
            : 'BAD_REQUEST'
    return simple(status, code, code === 'BAD_REQUEST' ? 'Invalid request' : code.replace(/_/g, ' ').toLowerCase())
  }
  logger.error('unhandled error', { request_id: requestId, error })
  return simple(500, 'INTERNAL_ERROR', 'Internal server error', { request_id: requestId })
}

/** The error body as sent: `{error}` in v1, `{error, meta}` in v2. */
export function errorBody(view: ErrorView, version: string, requestId: string): string {
  return JSON.stringify(version === 'v2' ? { ...view.body, meta: meta(requestId) } : view.body)
}

export function errorResponse(view: ErrorView, version: string, requestId: string): Response {
  return new Response(errorBody(view, version, requestId), {
    status: view.status,
    headers: { 'content-type': 'application/json', ...view.headers },
  })
}

/**
 * A dependency that is down is the server's temporary state, not a bug: the client gets 503
 * SERVICE_UNAVAILABLE with Retry-After, quickly, and may retry (docs/security.md#dependency-failures).
 * Recognised by shape, so core/errors needs neither postgres.js nor ioredis.
 */

/** Socket-level failures (Node's codes) and postgres.js's own connection codes. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: 57P01-57P03 (shutdown, crash,
 * cannot connect now), 53300 (too many connections), 57014 (statement timeout / cancel),
 * 08xxx (connection exceptions).
 */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014'])

/** Seconds a client should wait before retrying. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2

export function isDependencyUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string') return false
  return CONNECTION_CODES.has(code) || SERVER_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)
}

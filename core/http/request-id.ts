/** X-Request-ID: the caller's when it is 1-128 chars of [A-Za-z0-9._-], else a fresh UUID (docs/versioning.md#headers-on-every-api-response). */
const VALID = /^[A-Za-z0-9._-]{1,128}$/

export function requestIdFrom(headers: Headers): string {
  const given = headers.get('x-request-id')
  return given && VALID.test(given) ? given : crypto.randomUUID()
}

/**
 * When the credential that opened a live stream stops being valid (docs/plugins/tickets.md#live-events-sse):
 * a JWT (or an impersonation token) ends at its `exp`, and a stream must not outlive it, or a
 * client would keep receiving events on a session that has ended. The core has already verified
 * the token on this request; here its `exp` claim is only read, never trusted on its own.
 * API keys carry no `exp`: a revoked key ends its streams through `api_key.revoked` (stream.ts).
 */
import type { Principal } from '../../core/index.ts'

/** The bearer token of a request: the Authorization header, else `?token=` (EventSource). */
export function presentedToken(request: Request, queryToken: string | undefined): string | undefined {
  const header = request.headers.get('authorization')
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null
  return m?.[1] ?? queryToken
}

/** The expiry (epoch ms) of a JWT-style credential, or undefined (an API key, a token without `exp`). */
export function credentialExpiry(p: Principal, token: string | undefined): number | undefined {
  if (p.kind === 'api_key' || !token) return undefined
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown }
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined
  } catch {
    return undefined
  }
}

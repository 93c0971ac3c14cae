/**
 * Stages `authenticate` and `authorise` for /app and /admin (SPEC §7): the bearer becomes a
 * Principal (401 without one, 403 for a deactivated user); /admin needs the admin role; every
 * authenticated API request is metered (`api_requests`, batched by the usage plugin).
 */
import type { Authenticator } from '../../auth/authenticator.ts'
import { admitsAdmin, bearerToken } from '../../auth/authenticator.ts'
import type { Principal } from '../../auth/principal.ts'
import { forbidden } from '../../errors/index.ts'
import type { Exchange } from '../../http/request-state.ts'
import type { ApiVersion } from '../../http/versioning.ts'
import type { MeterFn } from '../../observability/meter.ts'

/** The `api_requests` meter's dimensions, one frozen object per version (none allocated per request). */
const VERSION_DIMENSIONS: Record<ApiVersion, Record<string, string>> = { v1: Object.freeze({ version: 'v1' }), v2: Object.freeze({ version: 'v2' }) }

const authed = (x: Exchange) => x.zone === 'app' || x.zone === 'admin'

export function authenticateStage(authenticator: Authenticator) {
  return function authenticate(x: Exchange): void | Promise<void> {
    if (!authed(x)) return
    const p = authenticator.authenticate(bearerToken(x.request.headers.get('authorization')))
    // Hot path: a token and user seen recently resolve without a promise.
    if (!(p instanceof Promise)) {
      x.principal = p
      return
    }
    return p.then((principal: Principal) => {
      x.principal = principal
    })
  }
}

export function authoriseStage(meter: MeterFn) {
  return function authorise(x: Exchange): void {
    if (!authed(x)) return
    const p = x.principal!
    if (x.zone === 'admin' && !admitsAdmin(p, x.rest)) throw forbidden('Admin role required', { required_role: 'admin' })
    meter(p.user.id, 'api_requests', 1, VERSION_DIMENSIONS[x.version])
  }
}

/** Turns a bearer into a Principal: credential resolvers first, else the identity provider's JWT (docs/auth.md#bearer-tokens). */
import { forbidden, unauthenticated } from '../errors/index.ts'
import type { CredentialResolver } from './credentials.ts'
import type { OrganizationResolver } from './organizations.ts'
import type { TokenVerifier, VerifiedClaims } from './jwt.ts'
import { isAdmin, type Principal, type User } from './principal.ts'
import type { UserDirectory } from './user-directory.ts'

export interface Authenticator {
  /** Resolves the bearer or throws 401 (bad token) / 403 (deactivated user). */
  authenticate(token: string | undefined): Principal | Promise<Principal>
  addResolver(resolver: CredentialResolver): void
  /** The one organization resolver of the app (the organizations plugin); a second one throws. */
  setOrganizationResolver(resolver: OrganizationResolver): void
  /** The registered organization resolver, if any (the authenticate stage asks it for X-Organization-ID). */
  organizations(): OrganizationResolver | undefined
  /**
   * Reserves a namespace of user ids for a plugin's service users (docs/auth.md#service-users),
   * e.g. `org:`: a JWT whose `sub` starts with it is refused with 401, so no identity-provider
   * token can act as a service user; only the plugin's own resolver reaches them.
   */
  reserveSubjects(prefix: string): void
  /** The reserved prefixes (the admin users list leaves their users out). */
  reservedSubjects(): readonly string[]
}

/**
 * A route's opt-in to `?token=` (docs/auth.md#tokens-in-the-query-string): `detail: { [QUERY_TOKEN]: true }`.
 * Read by the authenticate stage, and only for a request without an Authorization header.
 */
export const QUERY_TOKEN = 'x-query-token'

export function bearerToken(authorization: string | null): string | undefined {
  if (!authorization) return undefined
  // The common spelling, without allocating: "Bearer <token>".
  if (
    authorization.startsWith('Bearer ') &&
    authorization.charCodeAt(7) > 32 &&
    authorization.charCodeAt(authorization.length - 1) > 32
  ) {
    return authorization.slice(7)
  }
  const space = authorization.indexOf(' ')
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== 'bearer') return undefined
  const token = authorization.slice(space + 1).trim()
  return token || undefined
}

/**
 * /admin/* is for admins. A principal acting for someone else (impersonation) reaches only the
 * admin paths its resolver listed (stopping the impersonation), whatever the roles involved.
 */
export function admitsAdmin(principal: Principal, rest: string): boolean {
  if (principal.actorId !== undefined) return principal.adminPaths?.includes(rest) ?? false
  return isAdmin(principal.user.role)
}

/**
 * The address the identity provider vouches for: `email` with the OIDC claim `email_verified`
 * true (Cognito sends the string "true"). Supabase's `user_metadata.email_verified` is not read:
 * the user may edit user_metadata (docs/auth.md#verified-email).
 */
export function verifiedEmailOf(claims: VerifiedClaims): string | undefined {
  const { email, email_verified: verified } = claims
  if (typeof email !== 'string' || email === '') return undefined
  return verified === true || verified === 'true' ? email : undefined
}

/** A session: every scope of its role, and the verified email when the token carries one. */
const session = (user: User, claims: VerifiedClaims): Principal => {
  const verifiedEmail = verifiedEmailOf(claims)
  return verifiedEmail === undefined
    ? { user, kind: 'jwt', scopes: 'all' }
    : { user, kind: 'jwt', scopes: 'all', verifiedEmail }
}

export function createAuthenticator(verifier: TokenVerifier, users: UserDirectory): Authenticator {
  const resolvers: CredentialResolver[] = []
  let organizations: OrganizationResolver | undefined
  const reserved: string[] = []

  /** A service user's id as a JWT subject: refused before any user row is read or provisioned. */
  const refuseReserved = (sub: string) => {
    for (const prefix of reserved)
      if (sub.startsWith(prefix)) throw unauthenticated('Token subject is reserved for service users')
  }

  const active = (principal: Principal): Principal => {
    if (!principal.user.is_active) throw forbidden('User account is deactivated')
    return principal
  }

  const fromJwt = async (token: string): Promise<Principal> => {
    const claims = verifier.cached(token) ?? (await verifier.verify(token))
    // A delegated token (RFC 8693 `act`) is only honoured by the resolver that issued it.
    if (claims.act !== undefined) throw unauthenticated('Delegated tokens are not accepted here')
    refuseReserved(claims.sub)
    const user = users.cached(claims.sub) ?? (await users.ensure(claims))
    return active(session(user, claims))
  }

  return {
    authenticate(token) {
      if (!token) throw unauthenticated('Missing bearer token')
      for (const r of resolvers) {
        if (!r.matches(token)) continue
        const p = r.resolve(token)
        return p instanceof Promise ? p.then(active) : active(p)
      }
      // Hot path: a token and user seen recently cost no promise and no database round trip.
      const claims = verifier.cached(token)
      if (claims !== undefined && claims.act === undefined) {
        // Before the user cache, which holds the service users their own resolver read.
        if (reserved.length > 0) refuseReserved(claims.sub)
        const user = users.cached(claims.sub)
        if (user) return active(session(user, claims))
      }
      return fromJwt(token)
    },
    addResolver(resolver) {
      resolvers.push(resolver)
    },
    setOrganizationResolver(resolver) {
      if (organizations) throw new Error('An organization resolver is already registered: at most one per app')
      organizations = resolver
    },
    organizations: () => organizations,
    reserveSubjects(prefix) {
      if (!/^[a-z][a-z0-9_-]*:$/.test(prefix))
        throw new Error(`A reserved subject prefix is a lower-case name and a colon, got "${prefix}"`)
      if (!reserved.includes(prefix)) reserved.push(prefix)
    },
    reservedSubjects: () => reserved,
  }
}

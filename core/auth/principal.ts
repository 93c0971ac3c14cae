/** Who is calling: the user row, how they authenticated, and what they may do (docs/auth.md#users-and-roles). */

export const ROLES = ['user', 'agent', 'admin', 'superadmin'] as const
export type Role = (typeof ROLES)[number]

export interface User {
  id: string
  email: string | null
  full_name: string | null
  avatar_url: string | null
  role: Role
  is_active: boolean
  created_at: Date
  updated_at: Date
}

/** The caller's place in the active organization (docs/auth.md#organizations). Role names are the resolving plugin's. */
export interface OrgMembership {
  readonly id: string
  readonly role: string
}

export interface Principal {
  user: User
  /** jwt: the identity provider's token; api_key: an `osk_` key; impersonation: a server-signed token. */
  kind: 'jwt' | 'api_key' | 'impersonation'
  /** Scopes of an API key; `all` for sessions (a JWT has every scope of its role). */
  scopes: ReadonlySet<string> | 'all'
  /** For impersonation: the admin acting as `user`. */
  actorId?: string
  /** For API keys: the key's id (the users plugin batches last_used_at); for impersonation: the session id. */
  credentialId?: string
  /**
   * The active organization (docs/auth.md#organizations): named by the X-Organization-ID header
   * and resolved by the organizations plugin, or carried by an organization's API key (which then
   * acts as the organization: `user` is the key's own service user). Absent otherwise.
   */
  org?: OrgMembership
  /**
   * For a session (`jwt`) whose token says `email_verified: true`: that token's `email`, the
   * address the identity provider vouches for (docs/auth.md#verified-email). Absent otherwise
   * (API keys, impersonation, tokens without the claim).
   */
  verifiedEmail?: string
  /** For impersonation: the only /admin paths (after /api/{v}) it may reach, e.g. '/admin/impersonate/stop'. */
  adminPaths?: readonly string[]
}

export const isStaff = (role: Role) => role !== 'user'
export const isAdmin = (role: Role) => role === 'admin' || role === 'superadmin'

/** `files:*` grants `files:read`; `admin:full` grants every scope. */
export function hasScope(principal: Principal, scope: string): boolean {
  const s = principal.scopes
  if (s === 'all') return true
  if (s.has(scope) || s.has('admin:full')) return true
  const colon = scope.indexOf(':')
  return colon > 0 && s.has(scope.slice(0, colon) + ':*')
}

export function grantedScopes(principal: Principal): string[] {
  return principal.scopes === 'all' ? ['*'] : [...principal.scopes]
}

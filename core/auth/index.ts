/**
 * Authentication: principals and roles, JWT verification (jose), the authenticator that turns a
 * request into a principal, the verified-token cache and the user directory. Importing this door
 * also brings the core's user events into the EventMap (events.ts).
 */
import './events.ts'

export {
  admitsAdmin,
  bearerToken,
  createAuthenticator,
  QUERY_TOKEN,
  verifiedEmailOf,
  type Authenticator,
} from './authenticator.ts'
export {
  createApiKeyKit,
  generateApiKey,
  hashApiKey,
  keysNeedSession,
  type ApiKeyKit,
  type ApiKeyKitOptions,
  type ApiKeyTimings,
  type LiveKey,
} from './api-key-kit.ts'
export type { CredentialResolver } from './credentials.ts'
export {
  ORG_HEADER,
  withOrganization,
  type OrganizationResolver,
  type OrgMembership,
} from './organizations.ts'
export {
  createTokenVerifier,
  type AuthConfig,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerifiedClaims,
} from './jwt.ts'
export {
  grantedScopes,
  hasScope,
  isAdmin,
  isStaff,
  ROLES,
  type Principal,
  type Role,
  type User,
} from './principal.ts'
export { createTokenCache, type TokenCache, type TokenCacheOptions } from './token-cache.ts'
export {
  createUserDirectory,
  type ProvisionClaims,
  type UserDirectory,
  type UserDirectoryOptions,
} from './user-directory.ts'

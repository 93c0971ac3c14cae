/**
 * Credential resolvers: other ways than the identity provider's JWT to present a bearer
 * (the users plugin adds `osk_` API keys, the admin plugin impersonation tokens).
 */
import type { Principal } from './principal.ts'

export interface CredentialResolver {
  /** Cheap test on the raw bearer string, e.g. a prefix. */
  matches(token: string): boolean
  /** The principal, or throws AppError (401/403). Called only when matches() is true. */
  resolve(token: string): Promise<Principal> | Principal
}

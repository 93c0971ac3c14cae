/** Core events about users: published by the core (provisioning) and by plugins that change users. */
import type { User } from './principal.ts'

declare module '../events/types.ts' {
  interface EventMap {
    /** A user row was provisioned from a token (local to the replica that saw the token). */
    'user.created': { user: User }
    /** A user's role or activation changed: publish with { broadcast: true } so every replica drops its cache. */
    'user.changed': { id: string }
  }
}

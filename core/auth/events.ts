/** Core events about users: published by the core (provisioning) and by plugins that change users. */
import type { User } from './principal.ts'

declare module '../events/types.ts' {
  interface EventMap {
    /** A user row was provisioned from a token (local to the replica that saw the token). */
    'user.created': { user: User }
    /** A user's role or activation changed: publish with { broadcast: true } so every replica drops its cache. */
    'user.changed': { id: string }
    /**
     * A credential stopped working before its time (an API key revoked, an impersonation ended):
     * `id` is the principal's `credentialId`. Publish with { broadcast: true }; whatever stays open
     * on a credential (WebSocket connections, event streams) listens to this one event and closes.
     */
    'credential.revoked': { id: string }
  }
}

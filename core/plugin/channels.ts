/** WebSocket channel registry: `<kind>:<id>` is authorised by the plugin that owns `kind`. */
import type { Principal, User } from '../auth/index.ts'

/** WebSocket channel `<kind>:<id>` authoriser (the websocket plugin asks the owner of a kind). */
export type ChannelAuthorizer = (input: { id: string; user: User; principal: Principal }) => boolean | Promise<boolean>

export type ChannelDecision = 'ok' | 'invalid' | 'forbidden'

export interface ChannelRegistry {
  register(kind: string, owner: string, authorize: ChannelAuthorizer): void
  authorize(channel: string, principal: Principal): Promise<ChannelDecision>
  kinds(): string[]
}

const CHANNEL = /^([a-z][a-z0-9_-]{0,31}):([A-Za-z0-9_.:@-]{1,128})$/

export function createChannelRegistry(): ChannelRegistry {
  const owners = new Map<string, { owner: string; authorize: ChannelAuthorizer }>()
  // `user:<id>` is the core's own kind: a user may listen to their own channel only.
  owners.set('user', { owner: 'core', authorize: ({ id, user }) => id === user.id })
  return {
    register(kind, owner, authorize) {
      const existing = owners.get(kind)
      if (existing)
        throw new Error(`Channel kind "${kind}" of plugin "${owner}" is already owned by "${existing.owner}"`)
      owners.set(kind, { owner, authorize })
    },
    async authorize(channel, principal) {
      const m = CHANNEL.exec(channel)
      if (!m) return 'invalid'
      const entry = owners.get(m[1]!)
      if (!entry) return 'invalid'
      try {
        return (await entry.authorize({ id: m[2]!, user: principal.user, principal })) ? 'ok' : 'forbidden'
      } catch {
        return 'forbidden'
      }
    },
    kinds: () => [...owners.keys()],
  }
}

/**
 * Organization changes going out (docs/plugins/organizations.md#events). `durable(tx, ...)` runs
 * inside the transaction of the change: one job per durable subscriber (projects, files, billing),
 * existing only if the change commits. The other methods are the after-commit announcements: the
 * bus event, broadcast to every replica (each drops the memberships it names from its cache), and
 * the same event on the WebSocket channel `org:<id>` when the websocket plugin is installed.
 * This replica's cache is dropped at once, so the caller's next request already sees the change.
 */
import type { EventBus, EventMap, JobQueue, Logger } from '../../core/index.ts'
import type { DurableOrgEventName, OrgEventName } from './events.ts'
import type { WebsocketPort } from './ports.ts'
import type { OrgRole } from './roles.ts'

/** The transaction of a change, as `sql.begin` hands it over. */
type Tx = Parameters<JobQueue['publishDurable']>[0]

export interface OrgEvents {
  /** In the change's transaction: the durable subscribers' jobs (docs/jobs-and-events.md). */
  durable<N extends DurableOrgEventName>(tx: Tx, name: N, payload: EventMap[N]): Promise<void>
  created(orgId: string, userId: string): Promise<void>
  updated(orgId: string, changed: string[]): Promise<void>
  deleted(orgId: string): Promise<void>
  memberAdded(orgId: string, userId: string, role: OrgRole): Promise<void>
  memberRemoved(orgId: string, userId: string): Promise<void>
  roleChanged(orgId: string, userId: string, role: OrgRole, previous: OrgRole): Promise<void>
  /** Keys revoked with their organization: what a revocation by hand sends, for each key. */
  keysRevoked(orgId: string, keyIds: readonly string[]): Promise<void>
}

export function createOrgEvents(d: {
  events: EventBus
  jobs: Pick<JobQueue, 'publishDurable'>
  logger: Logger
  websocket?: WebsocketPort
  invalidate(orgId: string, userId?: string): void
}): OrgEvents {
  const announce = async <N extends OrgEventName>(name: N, payload: EventMap[N] & { org_id: string }) => {
    const userId = 'user_id' in payload ? (payload.user_id as string) : undefined
    if (name !== 'org.created' && name !== 'org.updated') d.invalidate(payload.org_id, userId)
    await d.events.publish(name, payload, { broadcast: true })
    try {
      await d.websocket?.broadcastToChannel(`org:${payload.org_id}`, { type: name, data: payload })
    } catch (err) {
      // The change is committed and on the bus; a realtime hiccup must not fail the request.
      d.logger.error('organizations: channel broadcast failed', { event: name, error: err })
    }
  }
  return {
    durable: async (tx, name, payload) => void (await d.jobs.publishDurable(tx, name, payload)),
    created: (org_id, user_id) => announce('org.created', { org_id, user_id }),
    updated: (org_id, changed) => announce('org.updated', { org_id, id: org_id, changed }),
    deleted: (org_id) => announce('org.deleted', { org_id, id: org_id }),
    memberAdded: (org_id, user_id, role) => announce('org.member_added', { org_id, user_id, role }),
    memberRemoved: async (org_id, user_id) => {
      await announce('org.member_removed', { org_id, user_id })
      // Re-authorises the channel's subscribers on every replica: the removed member's sockets leave `org:<id>`.
      await announce('org.updated', { org_id, id: org_id, changed: ['members'] })
    },
    roleChanged: (org_id, user_id, role, previous_role) =>
      announce('org.role_changed', { org_id, user_id, role, previous_role }),
    keysRevoked: async (org_id, ids) => {
      await Promise.all(
        ids.flatMap((id) => [
          d.events.publish('org_api_key.revoked', { id, org_id }, { broadcast: true }),
          d.events.publish('credential.revoked', { id }, { broadcast: true }),
        ]),
      )
    },
  }
}

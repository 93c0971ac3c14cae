/**
 * Events of the organizations plugin (docs/plugins/organizations.md#events): on the bus after the
 * commit; the durable ones also as jobs of their durable subscribers, enqueued in the change's
 * transaction.
 */
import type { OrgRole } from './roles.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    'org.created': { org_id: string; user_id: string }
    /** `id` = `org_id`: the websocket plugin re-authorises `org:<id>` subscribers on `org.updated` and closes the channel on `org.deleted`. */
    'org.updated': { org_id: string; id: string; changed: string[] }
    'org.deleted': { org_id: string; id: string }
    'org.member_added': { org_id: string; user_id: string; role: OrgRole }
    'org.member_removed': { org_id: string; user_id: string }
    'org.role_changed': { org_id: string; user_id: string; role: OrgRole; previous_role: OrgRole }
  }
}

export type OrgEventName =
  | 'org.created'
  | 'org.updated'
  | 'org.deleted'
  | 'org.member_added'
  | 'org.member_removed'
  | 'org.role_changed'

/** Published durably too: their consequences in other plugins (projects, files, seats) stay. */
export type DurableOrgEventName = 'org.deleted' | 'org.member_added' | 'org.member_removed' | 'org.role_changed'

/** Bus events of the organizations plugin (docs/plugins/organizations.md#events), published after commit. */
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

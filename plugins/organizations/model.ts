/**
 * What the organizations services share (docs/plugins/organizations.md): the organization and
 * member shapes, who asks and who acts, and the rows the queries read.
 */
import { forbidden, type JobQueue } from '../../core/index.ts'
import type { OrgRole } from './roles.ts'
import type { OrgModel } from './schema.ts'

export type Org = {
  id: string
  name: string
  slug: string
  created_by: string | null
  created_at: Date
  updated_at: Date
}
export type OrgView = OrgModel.org
export type Member = OrgModel.member

/**
 * Who asks: a user id, or the caller with the role an organization API key holds in its own
 * organization (`org`, from keyMembership: the key's service user is never in org_memberships).
 */
export type Caller = string | { id: string; org?: { id: string; role: OrgRole } }

/** Who acts: the caller and what the audit log records about the request. */
export interface Actor {
  id: string
  org?: { id: string; role: OrgRole }
  /**
   * Set when an organization API key acts (as that organization's service user): it neither
   * founds nor leaves an organization (docs/plugins/organizations-api-keys.md#roles).
   */
  keyOf?: string
  audit: {
    actor_id: string | null
    ip_address?: string | null
    request_id?: string | null
    details: Record<string, unknown>
  }
}

/** What an organization API key may not do (Actor.keyOf): 403 with details.required "session". */
export const sessionOnly = (what: string) =>
  forbidden(`An organization API key cannot ${what}; use a session`, { required: 'session' })

/** The transaction of a change, as `sql.begin` hands it over; durable events go in it. */
export type Tx = Parameters<JobQueue['publishDurable']>[0]

export interface OrgRow {
  id: string
  name: string
  slug: string
  role: OrgRole
  created_at: Date
  updated_at: Date
}

export interface MemberRow {
  user_id: string
  email: string | null
  full_name: string | null
  role: OrgRole
  joined_at: Date
}

export const toView = (r: OrgRow): OrgView => ({
  id: r.id,
  name: r.name,
  slug: r.slug,
  role: r.role,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})

export const toMember = (r: MemberRow): Member => ({
  user_id: r.user_id,
  email: r.email,
  full_name: r.full_name,
  role: r.role,
  joined_at: r.joined_at.toISOString(),
})

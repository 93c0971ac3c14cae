/**
 * Who may see and change a project (docs/plugins/projects.md#organizations): with an active
 * organization its projects, read by every member and changed by owners, admins and the
 * project's creator; without one the caller's personal projects (org_id null) only.
 */
import { forbidden, type Principal, type Sql } from '../../core/index.ts'

/** The caller as the service sees it: a user id and, when one is active, the organization and role. */
export interface Actor {
  userId: string
  org?: { id: string; role: string }
}

/** A service call names its caller by a principal's parts, or by a user id alone (personal, as before organizations). */
export const actorOf = (who: Actor | string): Actor => (typeof who === 'string' ? { userId: who } : who)

export const principalActor = (p: Principal): Actor => ({ userId: p.user.id, org: p.org })

/** Owners and admins of an organization change any of its projects. */
const isOrgAdmin = (a: Actor) => a.org?.role === 'owner' || a.org?.role === 'admin'

/** The rows the caller sees: the active organization's, else their own personal ones. */
export const visibleTo = (sql: Sql, a: Actor) =>
  a.org ? sql`org_id = ${a.org.id}` : sql`owner_id = ${a.userId} and org_id is null`

/** The rows the caller may change, within `visibleTo`: any for an org admin, else their own. */
export const writableBy = (sql: Sql, a: Actor) => (isOrgAdmin(a) ? sql`` : sql`and owner_id = ${a.userId}`)

/** `billing` members manage the subscription, not content: they read and create nothing. */
export function assertMayCreate(a: Actor, what: string): void {
  if (a.org?.role === 'billing') throw forbidden(`The billing role cannot create ${what} in an organization`)
}

export const mayWrite = (a: Actor, ownerId: string) => !a.org || isOrgAdmin(a) || ownerId === a.userId

export const writeRefused = (what: string) =>
  forbidden(`Only the organization's owners and admins and the ${what}'s creator may change it`)

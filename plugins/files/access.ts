/**
 * Whose files a caller reaches (docs/plugins/files.md#organizations): with an active organization
 * its files (metadata, download URLs) for every member, changed (confirm, delete) by owners,
 * admins and the uploader; without one, the caller's personal files (org_id null) only.
 */
import { forbidden, type Principal, type Sql } from '../../core/index.ts'

/** The caller: the user id and, when an organization is active, its id and the caller's role in it. */
export interface FileActor {
  userId: string
  org?: { id: string; role: string }
}

/** A user id alone is the personal caller (what dependents and older callers pass). */
export const fileActor = (who: FileActor | string): FileActor => (typeof who === 'string' ? { userId: who } : who)

export const fileActorOf = (p: Principal): FileActor => ({ userId: p.user.id, org: p.org })

const managesOrg = (a: FileActor) => a.org !== undefined && (a.org.role === 'owner' || a.org.role === 'admin')

/** SQL condition: the active organization's files, else the caller's personal ones. */
export const filesOf = (sql: Sql, a: FileActor) =>
  a.org ? sql`org_id = ${a.org.id}` : sql`owner_id = ${a.userId} and org_id is null`

/** Uploads in an organization: not for its `billing` members, who read only. */
export function checkMayUpload(a: FileActor): void {
  if (a.org?.role === 'billing') throw forbidden('The billing role cannot upload files to an organization')
}

/** 403 for a member changing another member's file (they may read it, so 404 would be a lie). */
export function checkMayChange(a: FileActor, uploaderId: string): void {
  if (a.org && !managesOrg(a) && uploaderId !== a.userId)
    throw forbidden("Only the organization's owners and admins and the file's uploader may change it")
}

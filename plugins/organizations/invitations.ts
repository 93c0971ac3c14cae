/**
 * Invitations (docs/plugins/organizations.md#invitations): an admin invites an address with a
 * role; the token (32 random bytes, base64url) is emailed through a job as the link
 * `PUBLIC_URL/invitations/<token>` and only its SHA-256 is stored. The signed-in user whose
 * verified email (the session token's, docs/auth.md#verified-email) matches accepts or declines
 * it once; a platform admin may do so for any address (the override, audited as such). Accepted,
 * declined and revoked invitations answer 409, expired ones 409 with reason `invitation_expired`.
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  AppError,
  conflict,
  isAdmin,
  isUuid,
  notFound,
  page,
  type AuditLog,
  type JobQueue,
  type PageQuery,
  type Page,
  type Principal,
  type Sql,
} from '../../core/index.ts'
import type { OrgEvents } from './publish.ts'
import type { OrgRole } from './roles.ts'
import type { OrgModel } from './schema.ts'
import type { Actor, Caller, OrganizationsService } from './service.ts'

export type Invitation = OrgModel.invitation
export const SEND_INVITATION_JOB = 'organizations.send-invitation'

export interface InvitationJob {
  invitation_id: string
  /** The token travels in the job payload only until the email is sent (it is in the email anyway). */
  token: string
}

export interface InvitationsService {
  create(by: Actor, orgId: string, input: OrgModel.invite): Promise<Invitation>
  list(caller: Caller, orgId: string, query: PageQuery): Promise<Page<Invitation>>
  revoke(by: Actor, orgId: string, invitationId: string): Promise<void>
  accept(by: Actor, who: Invitee, token: string): Promise<{ org_id: string; role: OrgRole }>
  decline(by: Actor, who: Invitee, token: string): Promise<void>
  /** The job: sends the invitation email (idempotent by the invitation id). */
  send(job: InvitationJob): Promise<void>
}

interface Row {
  id: string
  org_id: string
  email: string
  role: OrgRole
  invited_by: string | null
  created_at: Date
  expires_at: Date
  accepted_at: Date | null
  declined_at: Date | null
  revoked_at: Date | null
}

/** Who answers an invitation: the caller's user and the email their session's token verified. */
export type Invitee = Pick<Principal, 'user' | 'verifiedEmail'>

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

const statusOf = (r: Row, at: Date): Invitation['status'] =>
  r.accepted_at
    ? 'accepted'
    : r.declined_at
      ? 'declined'
      : r.revoked_at
        ? 'revoked'
        : r.expires_at <= at
          ? 'expired'
          : 'pending'

const toInvitation = (r: Row, at: Date): Invitation => ({
  id: r.id,
  org_id: r.org_id,
  email: r.email,
  role: r.role,
  status: statusOf(r, at),
  invited_by: r.invited_by,
  created_at: r.created_at.toISOString(),
  expires_at: r.expires_at.toISOString(),
})

const columns = 'id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, declined_at, revoked_at'

/** Why an invitation can no longer be used: a 409 whose details.reason names it. */
/** A unique violation on `index` (PostgreSQL 23505): a concurrent request won the race. */
const violates = (err: unknown, index: string) =>
  (err as { code?: string })?.code === '23505' && String((err as Error).message).includes(index)

const unusable = (status: Invitation['status']) =>
  new AppError('CONFLICT', `This invitation is ${status}`, { reason: `invitation_${status}` })

export function createInvitations(d: {
  sql: Sql
  audit: AuditLog
  jobs: JobQueue
  orgs: OrganizationsService
  publish: OrgEvents
  email?: { send(m: { to: string; subject: string; text: string; tag?: string; dedupeKey?: string }): Promise<unknown> }
  publicUrl: string
  ttlHours: number
  now: () => Date
}): InvitationsService {
  const { sql, audit, orgs, now } = d
  const cols = sql.unsafe(columns)

  /** The invitation of a token, locked for the change; 404 for an unknown token. */
  const byToken = async (tx: Sql, token: string) => {
    const [row] = await tx<Row[]>`select ${cols} from org_invitations where token_hash = ${hashToken(token)} for update`
    if (!row) throw notFound('Invitation')
    const org = await tx`select 1 from organizations where id = ${row.org_id} and deleted_at is null`
    if (org.length === 0) throw notFound('Invitation')
    const status = statusOf(row, now())
    if (status !== 'pending') throw unusable(status)
    return row
  }

  /**
   * The invited user (their session's verified email is the invited address), or a platform admin
   * (the documented override): true when the override was used.
   */
  const mayAnswer = (who: Invitee, row: Row) => {
    if (who.verifiedEmail?.toLowerCase() === row.email) return false
    if (isAdmin(who.user.role)) return true
    // The invitation's existence is known to whoever holds the token; the address is not revealed.
    if (who.user.email?.toLowerCase() === row.email)
      throw new AppError(
        'AUTHORIZATION_ERROR',
        'Accepting needs a sign-in whose email address is verified (not an API key)',
        {
          reason: 'email_not_verified',
        },
      )
    throw new AppError('AUTHORIZATION_ERROR', 'This invitation was sent to another email address', {
      reason: 'invitation_email_mismatch',
    })
  }

  return {
    async create(by, orgId, input) {
      const mine = await orgs.require(by, orgId, 'admin')
      if (input.role === 'owner' && mine !== 'owner')
        throw new AppError('AUTHORIZATION_ERROR', 'Only an owner may invite an owner')
      const email = input.email.trim().toLowerCase()
      const token = randomBytes(32).toString('base64url')
      const at = now()
      const expires = new Date(at.getTime() + d.ttlHours * 3_600_000)
      const row = await sql
        .begin(async (tx) => {
          const member = await tx`select 1 from org_memberships m join users u on u.id = m.user_id
          where m.org_id = ${orgId} and lower(u.email) = ${email}`
          if (member.length > 0)
            throw conflict('This address belongs to a member already', { reason: 'already_member' })
          // An expired pending invitation no longer blocks a new one: it is revoked first.
          await tx`update org_invitations set revoked_at = ${at} where org_id = ${orgId} and email = ${email}
          and accepted_at is null and declined_at is null and revoked_at is null and expires_at <= ${at}`
          const pending = await tx`select 1 from org_invitations where org_id = ${orgId} and email = ${email}
          and accepted_at is null and declined_at is null and revoked_at is null`
          if (pending.length > 0)
            throw conflict('A pending invitation exists for this address', { reason: 'invitation_pending' })
          const [inv] = await tx<Row[]>`
          insert into org_invitations (org_id, email, role, token_hash, invited_by, created_at, expires_at)
          values (${orgId}, ${email}, ${input.role}, ${hashToken(token)}, ${by.id}, ${at}, ${expires})
          returning ${cols}`
          await audit.record(
            {
              ...by.audit,
              action: 'org.invitation_create',
              resource_type: 'organization',
              resource_id: orgId,
              details: { ...by.audit.details, invitation_id: inv!.id, email, role: input.role },
            },
            tx,
          )
          return inv!
        })
        .catch((err) => {
          // Two invitations of one address at once: the partial unique index keeps one.
          if (violates(err, 'org_invitations_pending_idx'))
            throw conflict('A pending invitation exists for this address', { reason: 'invitation_pending' })
          throw err
        })
      await d.jobs.enqueue(SEND_INVITATION_JOB, { invitation_id: row.id, token } satisfies InvitationJob, {
        uniqueKey: `org-invitation:${row.id}`,
      })
      return toInvitation(row, at)
    },

    async list(caller, orgId, query) {
      await orgs.require(caller, orgId, 'admin')
      // Served by org_invitations_org_idx.
      const [items, [count]] = await Promise.all([
        sql<Row[]>`select ${cols} from org_invitations where org_id = ${orgId}
          order by created_at desc, id desc limit ${query.limit} offset ${query.skip}`,
        sql<{ n: number }[]>`select count(*)::int as n from org_invitations where org_id = ${orgId}`,
      ])
      const at = now()
      return page(
        items.map((r) => toInvitation(r, at)),
        count!.n,
        query,
      )
    },

    async revoke(by, orgId, invitationId) {
      await orgs.require(by, orgId, 'admin')
      if (!isUuid(invitationId)) throw notFound('Invitation', invitationId)
      await sql.begin(async (tx) => {
        const [row] = await tx<Row[]>`select ${cols} from org_invitations
          where id = ${invitationId} and org_id = ${orgId} for update`
        if (!row) throw notFound('Invitation', invitationId)
        const status = statusOf(row, now())
        if (status !== 'pending') throw unusable(status)
        await tx`update org_invitations set revoked_at = ${now()} where id = ${invitationId}`
        await audit.record(
          {
            ...by.audit,
            action: 'org.invitation_revoke',
            resource_type: 'organization',
            resource_id: orgId,
            details: { ...by.audit.details, invitation_id: invitationId },
          },
          tx,
        )
      })
    },

    async accept(by, who, token) {
      const { user } = who
      const result = await sql
        .begin(async (tx) => {
          const row = await byToken(tx as unknown as Sql, token)
          const override = mayAnswer(who, row)
          const existing = await tx`select 1 from org_memberships where org_id = ${row.org_id} and user_id = ${user.id}`
          if (existing.length > 0)
            throw conflict('You are a member of this organization already', { reason: 'already_member' })
          const at = now()
          await tx`update org_invitations set accepted_at = ${at}, accepted_by = ${user.id} where id = ${row.id}`
          await tx`insert into org_memberships (org_id, user_id, role, joined_at) values (${row.org_id}, ${user.id}, ${row.role}, ${at})`
          await audit.record(
            {
              ...by.audit,
              action: 'org.invitation_accept',
              resource_type: 'organization',
              resource_id: row.org_id,
              details: {
                ...by.audit.details,
                invitation_id: row.id,
                role: row.role,
                ...(override ? { override: 'platform_admin' } : {}),
              },
            },
            tx,
          )
          // Seat jobs exist exactly when the membership does (docs/jobs-and-events.md#durable-events).
          const added = { org_id: row.org_id, user_id: user.id, role: row.role }
          await d.publish.durable(tx, 'org.member_added', added)
          return { org_id: row.org_id, role: row.role }
        })
        .catch((err) => {
          // Joined through another invitation at the same moment.
          if (violates(err, 'org_memberships_pkey'))
            throw conflict('You are a member of this organization already', { reason: 'already_member' })
          throw err
        })
      await d.publish.memberAdded(result.org_id, user.id, result.role)
      return result
    },

    async decline(by, who, token) {
      await sql.begin(async (tx) => {
        const row = await byToken(tx as unknown as Sql, token)
        const override = mayAnswer(who, row)
        await tx`update org_invitations set declined_at = ${now()} where id = ${row.id}`
        await audit.record(
          {
            ...by.audit,
            action: 'org.invitation_decline',
            resource_type: 'organization',
            resource_id: row.org_id,
            details: {
              ...by.audit.details,
              invitation_id: row.id,
              ...(override ? { override: 'platform_admin' } : {}),
            },
          },
          tx,
        )
      })
    },

    async send({ invitation_id, token }) {
      if (!d.email) return
      const [row] = await sql<(Row & { org_name: string })[]>`
        select i.id, i.email, i.role, i.expires_at, i.accepted_at, i.declined_at, i.revoked_at, o.name as org_name
        from org_invitations i join organizations o on o.id = i.org_id
        where i.id = ${invitation_id} and o.deleted_at is null`
      // Revoked or answered before the job ran: nothing to send.
      if (!row || row.accepted_at || row.declined_at || row.revoked_at) return
      const link = `${d.publicUrl.replace(/\/+$/, '')}/invitations/${token}`
      await d.email.send({
        to: row.email,
        subject: `You are invited to join ${row.org_name}`,
        text: `You have been invited to join ${row.org_name} as ${row.role}.\n\nAccept the invitation: ${link}\n\nThe link expires on ${row.expires_at.toISOString()}.`,
        tag: 'organizations.invitation',
        dedupeKey: `org-invitation:${row.id}`,
      })
    },
  }
}

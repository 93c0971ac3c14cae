/** Routes under /app/orgs and /app/invitations (docs/plugins/organizations.md#routes). Rules live in the services. */
import { jsonDoc, page, type AuditRequest, type Principal, type RouteContext } from '../../core/index.ts'
import { keyMembership } from './api-keys.ts'
import type { InvitationsService } from './invitations.ts'
import { OrgModel } from './schema.ts'
import type { OrgRole } from './roles.ts'
import type { Actor, Caller, OrganizationsService } from './service.ts'

const forbiddenDoc = { description: 'A member whose role may not do this' }
const notFoundDoc = { description: 'No such organization, or the caller is not a member of it' }
const conflictDoc = { description: 'The change conflicts with the organization (details.reason)' }

/**
 * The caller of a route of organization `org_id`: the user, with the role an organization API key
 * holds in its own organization (docs/plugins/organizations-api-keys.md#roles).
 */
const callerOf = (req: { user: { id: string }; principal: Principal; params?: { org_id?: string } }): Caller => {
  const orgId = req.params?.org_id
  const role = orgId ? keyMembership(req.principal, orgId) : undefined
  return role ? { id: req.user.id, org: { id: orgId!.toLowerCase(), role: role as OrgRole } } : req.user.id
}

/** The organization whose own API key calls (as its service user, never a member), or undefined. */
const keyOrg = (principal: Principal) =>
  principal.org && keyMembership(principal, principal.org.id) ? principal.org : undefined

export const orgRoutes = ({ router, audit }: RouteContext, orgs: OrganizationsService, invites: InvitationsService) => {
  const actor = (req: AuditRequest & { user: { id: string }; params?: { org_id?: string } }): Actor => {
    const caller = callerOf(req)
    const key = keyOrg(req.principal)
    return {
      id: req.user.id,
      audit: audit.from(req),
      ...(typeof caller === 'string' ? {} : { org: caller.org }),
      ...(key ? { keyOf: key.id } : {}),
    }
  }
  return router('/orgs')
    .post(
      '',
      async (req) => {
        const org = await orgs.create(actor(req), req.body)
        req.set.status = 201
        return org
      },
      {
        body: OrgModel.create,
        response: { 201: OrgModel.org },
        scope: 'orgs:write',
        detail: {
          summary: 'Create an organization (the caller becomes its owner)',
          description:
            'The slug is derived from the name when absent; 409 (reason slug_taken) when taken. An organization API key gets 403.',
          responses: { 403: { description: 'An organization API key (details.required: session)' }, 409: conflictDoc },
        },
      },
    )
    .get(
      '',
      async ({ principal, query }) => {
        const own = keyOrg(principal)
        if (!own) return orgs.listMine(principal.user.id, query)
        // A key acts as its organization: that one, with the key's role.
        const caller = { id: principal.user.id, org: { id: own.id, role: own.role as OrgRole } }
        const view = await orgs.getFor(caller, own.id)
        return page(query.skip === 0 ? [view] : [], 1, query)
      },
      {
        query: OrgModel.listQuery,
        scope: 'orgs:read',
        detail: {
          summary: "The caller's organizations, each with the caller's role",
          description: "With an organization API key: the key's own organization, with the key's role.",
          responses: { 200: jsonDoc('A page of organizations', OrgModel.orgList) },
        },
      },
    )
    .get('/:org_id', (req) => orgs.getFor(callerOf(req), req.params.org_id), {
      params: OrgModel.orgParams,
      response: { 200: OrgModel.org },
      scope: 'orgs:read',
      detail: { summary: 'Get an organization (members)', responses: { 404: notFoundDoc } },
    })
    .patch('/:org_id', (req) => orgs.update(actor(req), req.params.org_id, req.body), {
      params: OrgModel.orgParams,
      body: OrgModel.update,
      response: { 200: OrgModel.org },
      scope: 'orgs:write',
      detail: {
        summary: 'Rename an organization or change its slug (owner or admin)',
        responses: { 403: forbiddenDoc, 404: notFoundDoc, 409: conflictDoc },
      },
    })
    .delete(
      '/:org_id',
      async (req) => {
        await orgs.remove(actor(req), req.params.org_id)
        req.set.status = 204
      },
      {
        params: OrgModel.orgParams,
        scope: 'orgs:write',
        detail: {
          summary: 'Delete an organization (owner; soft delete)',
          responses: { 204: { description: 'Deleted' }, 403: forbiddenDoc, 404: notFoundDoc },
        },
      },
    )
    .get('/:org_id/members', (req) => orgs.members(callerOf(req), req.params.org_id, req.query), {
      params: OrgModel.orgParams,
      query: OrgModel.listQuery,
      scope: 'orgs:read',
      detail: {
        summary: 'Members of an organization (members)',
        responses: { 200: jsonDoc('A page of members', OrgModel.memberList), 404: notFoundDoc },
      },
    })
    .patch(
      '/:org_id/members/:user_id',
      (req) => orgs.changeRole(actor(req), req.params.org_id, req.params.user_id, req.body.role),
      {
        params: OrgModel.memberParams,
        body: OrgModel.roleChange,
        response: { 200: OrgModel.member },
        scope: 'orgs:write',
        detail: {
          summary: "Change a member's role (owner or admin; only an owner makes or unmakes an owner)",
          responses: {
            403: forbiddenDoc,
            404: notFoundDoc,
            409: { description: 'The last owner (reason last_owner)' },
          },
        },
      },
    )
    .delete(
      '/:org_id/members/:user_id',
      async (req) => {
        await orgs.removeMember(actor(req), req.params.org_id, req.params.user_id)
        req.set.status = 204
      },
      {
        params: OrgModel.memberParams,
        scope: 'orgs:write',
        detail: {
          summary: 'Remove a member (owner or admin; only an owner removes an owner)',
          responses: { 204: { description: 'Removed' }, 403: forbiddenDoc, 404: notFoundDoc, 409: conflictDoc },
        },
      },
    )
    .post(
      '/:org_id/leave',
      async (req) => {
        await orgs.leave(actor(req), req.params.org_id)
        req.set.status = 204
      },
      {
        params: OrgModel.orgParams,
        scope: 'orgs:write',
        detail: {
          summary: 'Leave an organization (the last owner cannot)',
          responses: {
            204: { description: 'Left' },
            403: { description: "The organization's own API key (details.required: session)" },
            404: notFoundDoc,
            409: conflictDoc,
          },
        },
      },
    )
    .post('/:org_id/transfer', (req) => orgs.transfer(actor(req), req.params.org_id, req.body.user_id), {
      params: OrgModel.orgParams,
      body: OrgModel.transfer,
      response: { 200: OrgModel.member },
      scope: 'orgs:write',
      detail: {
        summary: 'Transfer ownership to a member (owner); the caller becomes an admin',
        description: 'Answers the new owner as a member.',
        responses: { 403: forbiddenDoc, 404: notFoundDoc },
      },
    })
    .post(
      '/:org_id/invitations',
      async (req) => {
        const invitation = await invites.create(actor(req), req.params.org_id, req.body)
        req.set.status = 201
        return invitation
      },
      {
        params: OrgModel.orgParams,
        body: OrgModel.invite,
        response: { 201: OrgModel.invitation },
        scope: 'orgs:write',
        detail: {
          summary: 'Invite an email address (owner or admin); the link is emailed, never answered',
          responses: { 403: forbiddenDoc, 404: notFoundDoc, 409: conflictDoc },
        },
      },
    )
    .get('/:org_id/invitations', (req) => invites.list(callerOf(req), req.params.org_id, req.query), {
      params: OrgModel.orgParams,
      query: OrgModel.listQuery,
      scope: 'orgs:read',
      detail: {
        summary: 'Invitations of an organization (owner or admin)',
        responses: {
          200: jsonDoc('A page of invitations', OrgModel.invitationList),
          403: forbiddenDoc,
          404: notFoundDoc,
        },
      },
    })
    .delete(
      '/:org_id/invitations/:invitation_id',
      async (req) => {
        await invites.revoke(actor(req), req.params.org_id, req.params.invitation_id)
        req.set.status = 204
      },
      {
        params: OrgModel.invitationParams,
        scope: 'orgs:write',
        detail: {
          summary: 'Revoke a pending invitation (owner or admin)',
          responses: { 204: { description: 'Revoked' }, 403: forbiddenDoc, 404: notFoundDoc, 409: conflictDoc },
        },
      },
    )
}

const tokenConflict = { description: 'Accepted, declined, revoked or expired (details.reason), or already a member' }

export const invitationRoutes = ({ router, audit }: RouteContext, invites: InvitationsService) => {
  const actor = (req: AuditRequest & { user: { id: string } }): Actor => ({ id: req.user.id, audit: audit.from(req) })
  return router('/invitations')
    .post('/:token/accept', (req) => invites.accept(actor(req), req.principal, req.params.token), {
      params: OrgModel.tokenParams,
      response: { 200: OrgModel.accepted },
      scope: 'orgs:write',
      detail: {
        summary: 'Accept an invitation (the invited user, or a platform admin)',
        description:
          "The caller's session token must carry the invited address as `email` with `email_verified: true`; a platform admin may accept any invitation (audited as an override).",
        responses: {
          403: {
            description:
              "Sent to another address (reason invitation_email_mismatch), or the caller's email is not verified (reason email_not_verified)",
          },
          404: { description: 'Unknown token' },
          409: tokenConflict,
        },
      },
    })
    .post(
      '/:token/decline',
      async (req) => {
        await invites.decline(actor(req), req.principal, req.params.token)
        req.set.status = 204
      },
      {
        params: OrgModel.tokenParams,
        scope: 'orgs:write',
        detail: {
          summary: 'Decline an invitation (the invited user, or a platform admin)',
          responses: {
            204: { description: 'Declined' },
            403: { description: "Sent to another address, or the caller's email is not verified (details.reason)" },
            404: { description: 'Unknown token' },
            409: tokenConflict,
          },
        },
      },
    )
}

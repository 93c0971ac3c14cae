/** Organizations: teams with roles, invitations and the active organization of a request (docs/plugins/organizations.md). */
import { definePlugin, env, optional } from '../../core/index.ts'
import email from '../email/index.ts'
import users from '../users/index.ts'
import './events.ts'
import { orgApiKeyRoutes } from './api-key-routes.ts'
import { createOrgApiKeys, keyMembership } from './api-keys.ts'
import { createInvitations, SEND_INVITATION_JOB, type InvitationJob } from './invitations.ts'
import type { WebsocketPort } from './ports.ts'
import { createOrgEvents } from './publish.ts'
import { invitationRoutes, orgRoutes } from './routes.ts'
import { createOrganizationsService, type OrganizationsService } from './service.ts'

export { ORG_ROLES, isOrgAdmin, type OrgRole } from './roles.ts'
export type { Org, OrgView, Member, OrganizationsService, Actor } from './service.ts'
export type { InvitationsService, Invitation } from './invitations.ts'

export interface OrganizationsPluginOptions {
  /** Clock of invitation expiry and of the timestamps the plugin writes (tests inject one). @default () => new Date() */
  now?: () => Date
  /** How long a membership stays cached per replica. @default 30000 */
  membershipCacheTtlMs?: number
}

export function createOrganizationsPlugin(options: OrganizationsPluginOptions = {}) {
  const now = options.now ?? (() => new Date())
  return definePlugin({
    name: 'organizations',
    dependsOn: { users, email },
    optionalDependsOn: { websocket: optional<WebsocketPort>('websocket') },
    tag: { name: 'Organizations', description: 'Organizations, their members, roles and invitations' },
    config: {
      inviteTtlHours: env.int('ORG_INVITE_TTL_HOURS', {
        default: 168,
        min: 1,
        max: 8760,
        description: 'hours an organization invitation stays valid',
      }),
    },
    migrations: new URL('./migrations/', import.meta.url),
    setup: (ctx) => {
      const { sql, audit, events, logger, jobs, deps } = ctx
      let orgs: OrganizationsService
      const publish = createOrgEvents({
        events,
        jobs,
        logger,
        websocket: deps.websocket,
        invalidate: (orgId, userId) => orgs.invalidate(orgId, userId),
      })
      orgs = createOrganizationsService({ sql, audit, publish, now, cacheTtlMs: options.membershipCacheTtlMs })
      const invitations = createInvitations({
        sql,
        audit,
        jobs,
        orgs,
        publish,
        email: deps.email,
        publicUrl: ctx.core.publicUrl,
        ttlHours: ctx.config.inviteTtlHours,
        now,
      })
      // X-Organization-ID (docs/auth.md#organizations): the caller's cached membership, or 404.
      ctx.auth.setOrganizationResolver({
        membership: async (principal, orgId) => {
          const m = await orgs.membership(orgId, principal.user.id)
          return m ? { id: orgId, role: m.role } : undefined
        },
      })
      // Organization API keys (docs/plugins/organizations-api-keys.md): the `oso_` resolver is added at start.
      const apiKeys = createOrgApiKeys(ctx, orgs)
      // The keys' service users `org:<id>`: no identity provider's token may name one (docs/auth.md#service-users).
      ctx.auth.reserveSubjects('org:')
      // Every replica drops the memberships a change names (the publisher already dropped its own).
      const drop = ({ org_id, user_id }: { org_id: string; user_id?: string }) => orgs.invalidate(org_id, user_id)
      return {
        service: Object.assign(orgs, { invitations }),
        routes: {
          app: (r) =>
            r
              .router()
              .use(orgRoutes(r, orgs, invitations))
              .use(invitationRoutes(r, invitations))
              .use(orgApiKeyRoutes(r, apiKeys)),
        },
        start: () => apiKeys.start(),
        stop: () => apiKeys.stop(),
        jobs: { [SEND_INVITATION_JOB]: (job: InvitationJob) => invitations.send(job) },
        on: {
          'org.member_added': drop,
          'org.member_removed': drop,
          'org.role_changed': drop,
          'org.deleted': drop,
        },
        // WebSocket `org:<id>`: members and the organization's own keys (its service user is never a
        // member row); a deleted organization is refused like a missing one.
        channels: {
          org: async ({ id, user, principal }) =>
            keyMembership(principal, id) !== undefined
              ? (await orgs.get(id)) !== undefined
              : (await orgs.membership(id, user.id)) !== undefined,
        },
      }
    },
  })
}

export default createOrganizationsPlugin()

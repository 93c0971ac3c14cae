/** TypeBox models of the organizations plugin (docs/plugins/organizations.md). */
import { pageQuery, t } from '../../core/index.ts'

// Spelled out (not mapped from ORG_ROLES) so the static type keeps the four literals.
const role = t.Union([t.Literal('owner'), t.Literal('admin'), t.Literal('member'), t.Literal('billing')], {
  description: 'owner, admin, member or billing',
})
const slug = t.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$',
  description: 'Lower-case letters, digits and inner hyphens; unique among organizations',
})
const pageOf = <T extends ReturnType<typeof t.Object>>(item: T) =>
  t.Object({ items: t.Array(item), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })

export namespace OrgModel {
  export const roleSchema = role

  export const org = t.Object({
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    slug: t.String(),
    /** The caller's role in it. */
    role,
    created_at: t.String({ format: 'date-time' }),
    updated_at: t.String({ format: 'date-time' }),
  })
  export type org = typeof org.static
  export const orgList = pageOf(org)

  export const create = t.Object({
    name: t.String({ minLength: 1, maxLength: 255 }),
    slug: t.Optional(slug),
  })
  export type create = typeof create.static

  export const update = t.Object({
    name: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    slug: t.Optional(slug),
  })
  export type update = typeof update.static

  export const member = t.Object({
    user_id: t.String(),
    email: t.Union([t.String(), t.Null()]),
    full_name: t.Union([t.String(), t.Null()]),
    role,
    joined_at: t.String({ format: 'date-time' }),
  })
  export type member = typeof member.static
  export const memberList = pageOf(member)

  export const roleChange = t.Object({ role })
  export const transfer = t.Object({ user_id: t.String({ minLength: 1, maxLength: 255 }) })

  export const invitation = t.Object({
    id: t.String({ format: 'uuid' }),
    org_id: t.String({ format: 'uuid' }),
    email: t.String(),
    role,
    status: t.Union([
      t.Literal('pending'),
      t.Literal('accepted'),
      t.Literal('declined'),
      t.Literal('revoked'),
      t.Literal('expired'),
    ]),
    invited_by: t.Union([t.String(), t.Null()]),
    created_at: t.String({ format: 'date-time' }),
    expires_at: t.String({ format: 'date-time' }),
  })
  export type invitation = typeof invitation.static
  export const invitationList = pageOf(invitation)

  export const invite = t.Object({
    email: t.String({ format: 'email', maxLength: 320 }),
    role,
  })
  export type invite = typeof invite.static

  export const accepted = t.Object({ org_id: t.String({ format: 'uuid' }), role })

  export const orgParams = t.Object({ org_id: t.String({ description: 'Organization ID (UUID)' }) })
  export const memberParams = t.Object({
    org_id: t.String({ description: 'Organization ID (UUID)' }),
    user_id: t.String({ description: 'User ID' }),
  })
  export const invitationParams = t.Object({
    org_id: t.String({ description: 'Organization ID (UUID)' }),
    invitation_id: t.String({ description: 'Invitation ID (UUID)' }),
  })
  export const tokenParams = t.Object({ token: t.String({ minLength: 1, maxLength: 128 }) })
  export const listQuery = t.Object(pageQuery)
}

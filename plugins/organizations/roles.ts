/** Organization roles and what each may do (docs/plugins/organizations.md#roles). */
export const ORG_ROLES = ['owner', 'admin', 'member', 'billing'] as const
export type OrgRole = (typeof ORG_ROLES)[number]

/** Owners and admins manage the organization, its members and its invitations. */
export const isOrgAdmin = (role: OrgRole | string) => role === 'owner' || role === 'admin'

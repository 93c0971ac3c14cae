/**
 * The active organization of a request (docs/auth.md#organizations): a client names it with the
 * X-Organization-ID header, or an organization's own API key carries it. The core knows no
 * organizations: a plugin (organizations) registers the one resolver that says whether the
 * caller belongs to it and in which role. Without a resolver the header is ignored and nothing
 * changes.
 */
import { badRequest, notFound } from '../errors/index.ts'
import type { OrgMembership, Principal } from './principal.ts'

export type { OrgMembership }

/** Lower case: Headers.get is case-insensitive, and this is what the stage asks for. */
export const ORG_HEADER = 'x-organization-id'

export interface OrganizationResolver {
  /**
   * The caller's membership of `orgId`, or undefined when the caller is not a member or the
   * organization does not exist (both answered 404: existence is not revealed). Asked on every
   * request that names an organization, so a resolver caches (and drops its cache on change).
   */
  membership(principal: Principal, orgId: string): OrgMembership | undefined | Promise<OrgMembership | undefined>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const unknownOrganization = (id: string) => notFound('Organization', id)

/**
 * The principal with its active organization. A principal that already has one (an
 * organization's API key) may only name that one; a principal without one gets the resolver's
 * answer. The principal is copied, never changed: resolvers may cache theirs.
 */
export function withOrganization(
  resolver: OrganizationResolver,
  principal: Principal,
  orgId: string,
): Principal | Promise<Principal> {
  if (!UUID.test(orgId))
    throw badRequest('X-Organization-ID must be an organization id (a UUID)', { header: 'X-Organization-ID' })
  const id = orgId.toLowerCase()
  if (principal.org) {
    if (principal.org.id !== id) throw unknownOrganization(id)
    return principal
  }
  const apply = (m: OrgMembership | undefined): Principal => {
    if (!m) throw unknownOrganization(id)
    return { ...principal, org: m }
  }
  const m = resolver.membership(principal, id)
  return m instanceof Promise ? m.then(apply) : apply(m)
}

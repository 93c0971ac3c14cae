/**
 * What billing uses of plugins it does not require, declared here so billing (and an app created
 * without them) type-checks on its own (docs/writing-a-plugin.md#optional-dependencies);
 * starters/ports.test.ts checks that the real plugins still fit.
 */
export type { OrgDirectory as OrganizationsPort } from './orgs/service.ts'

/** The feature-flags plugin: plan_based flags ask billing for a user's (or organization's) plan. */
export interface FeatureFlagsPort {
  setPlanResolver(
    resolver: (userId: string, orgId?: string) => string | null | undefined | Promise<string | null | undefined>,
  ): void
}

declare module '../../core/index.ts' {
  interface EventMap {
    // Published by the organizations plugin (seats follow members; an organization's subscription
    // ends with it). Declared again here for an app without it; TypeScript requires every
    // declaration of a key to have the same type, so the two cannot drift.
    'org.deleted': { org_id: string; id: string }
    'org.member_added': { org_id: string; user_id: string; role: 'owner' | 'admin' | 'member' | 'billing' }
    'org.member_removed': { org_id: string; user_id: string }
  }
}

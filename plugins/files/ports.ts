/**
 * What files uses of plugins it does not require, declared here so files (and an app created
 * without them) type-checks on its own (docs/writing-a-plugin.md#optional-dependencies);
 * starters/ports.test.ts checks that the real plugins still fit.
 */

/**
 * The organizations plugin: files only needs to know it is installed; the caller's organization
 * and role come on the principal (docs/auth.md#organizations).
 */
export type OrganizationsPort = object

declare module '../../core/index.ts' {
  interface EventMap {
    /**
     * Published by the organizations plugin. Declared again here for an app without it; TypeScript
     * requires every declaration of a key to have the same type, so the two cannot drift.
     */
    'org.deleted': { org_id: string; id: string }
  }
}

/** Projects: personal or organization-scoped CRUD with search by name and soft delete (docs/plugins/projects.md). */
import { definePlugin, optional } from '../../core/index.ts'
import { principalActor } from './access.ts'
import { subscribeOrgCleanup } from './org-cleanup.ts'
import type { OrganizationsPort } from './ports.ts'
import { projectRoutes } from './routes.ts'
import { createProjectsService, type Project } from './service.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    'project.created': { project: Project }
    /** `changed` lists the fields the request set. */
    'project.updated': { project: Project; changed: string[] }
    /** `org_id` only for an organization's project. */
    'project.deleted': { id: string; owner_id: string; org_id?: string }
  }
}

export type { Actor, Project, ProjectsService } from './service.ts'

export default definePlugin({
  name: 'projects',
  // Installed: a project made with X-Organization-ID belongs to that organization (docs/plugins/projects.md#organizations).
  optionalDependsOn: { organizations: optional<OrganizationsPort>('organizations') },
  tag: { name: 'Projects', description: 'Projects owned by the caller or by their active organization' },
  migrations: new URL('./migrations/', import.meta.url),
  setup: ({ sql, events, jobs, deps }) => {
    const projects = createProjectsService({ sql, events })
    // A deleted organization's projects go with it, durably (docs/plugins/projects.md#organizations).
    if (deps.organizations) subscribeOrgCleanup(jobs, projects)
    return {
      service: projects,
      routes: { app: (ctx) => projectRoutes(ctx, projects) },
      // WebSocket `project:<id>`: whoever may read it (its owner, or the members of its organization
      // when the socket names it); a deleted project is refused like a missing one.
      channels: { project: ({ id, principal }) => projects.canRead(principalActor(principal), id) },
    }
  },
})

/** Projects: owner-scoped CRUD with search by name and soft delete (seed 004 "Projects", SPEC §9). */
import { definePlugin } from '../../core/index.ts'
import { projectRoutes } from './routes.ts'
import { createProjectsService, type Project, type ProjectsService } from './service.ts'

declare module '../../core/plugin/types.ts' {
  interface PluginServices {
    projects: ProjectsService
  }
}

declare module '../../core/events/types.ts' {
  interface EventMap {
    'project.created': { project: Project }
    /** `changed` lists the fields the request set. */
    'project.updated': { project: Project; changed: string[] }
    'project.deleted': { id: string; owner_id: string }
  }
}

export type { Project, ProjectsService } from './service.ts'

export default definePlugin({
  name: 'projects',
  tag: { name: 'Projects', description: 'Projects owned by the caller' },
  migrations: new URL('./migrations/', import.meta.url),
  provides: ({ sql, events }) => createProjectsService({ sql, events }),
  // Route factories run once per API version; the service is stateless, so each gets its own.
  app: (ctx) => projectRoutes(ctx, createProjectsService(ctx)),
  channels: {
    // WebSocket `project:<id>`: its owner only; a deleted project is refused like a missing one.
    project: (ctx) => {
      const projects = createProjectsService(ctx)
      return ({ id, user }) => projects.isOwner(user.id, id)
    },
  },
})

/** Projects: owner-scoped CRUD with search by name and soft delete (docs/plugins/projects.md). */
import { definePlugin } from '../../core/index.ts'
import { projectRoutes } from './routes.ts'
import { createProjectsService, type Project } from './service.ts'

declare module '../../core/index.ts' {
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
  setup: ({ sql, events }) => {
    const projects = createProjectsService({ sql, events })
    return {
      service: projects,
      routes: { app: (ctx) => projectRoutes(ctx, projects) },
      // WebSocket `project:<id>`: its owner only; a deleted project is refused like a missing one.
      channels: { project: ({ id, user }) => projects.isOwner(user.id, id) },
    }
  },
})

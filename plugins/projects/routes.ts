/** Projects routes under /app/projects (docs/plugins/projects.md): list, create, get, patch, delete. */
import { jsonDoc, type RouteContext } from '../../core/index.ts'
import { ProjectModel } from './schema.ts'
import type { ProjectsService } from './service.ts'

export const projectRoutes = ({ router }: RouteContext, projects: ProjectsService) =>
  router('/projects')
    .get('', ({ user, query }) => projects.list(user.id, query), {
      query: ProjectModel.listQuery,
      // Documented, not declared as `response`: Elysia's response normalisation copies the
      // object and drops page()'s marker, which v2 needs for meta.pagination.
      detail: {
        summary: 'List my projects',
        description: 'Newest first; `search` matches the start of any word of the name, case-insensitively.',
        responses: { 200: jsonDoc('A page of projects', ProjectModel.list) },
      },
      scope: 'projects:read',
    })
    .post(
      '',
      async ({ user, body, set }) => {
        const project = await projects.create(user.id, body)
        set.status = 201
        return project
      },
      {
        body: ProjectModel.create,
        response: { 201: ProjectModel.project },
        scope: 'projects:write',
        detail: { summary: 'Create a project' },
      },
    )
    .get('/:project_id', ({ user, params }) => projects.get(user.id, params.project_id), {
      params: ProjectModel.params,
      response: { 200: ProjectModel.project },
      scope: 'projects:read',
      detail: {
        summary: 'Get a project',
        description: '404 when it does not exist, is deleted, or belongs to someone else.',
      },
    })
    .patch('/:project_id', ({ user, params, body }) => projects.update(user.id, params.project_id, body), {
      params: ProjectModel.params,
      body: ProjectModel.update,
      response: { 200: ProjectModel.project },
      scope: 'projects:write',
      detail: { summary: 'Update a project' },
    })
    .delete(
      '/:project_id',
      async ({ user, params, set }) => {
        await projects.remove(user.id, params.project_id)
        set.status = 204
      },
      {
        params: ProjectModel.params,
        scope: 'projects:write',
        detail: {
          summary: 'Delete a project (soft: deleted_at is set)',
          responses: { 204: { description: 'Deleted' } },
        },
      },
    )

/** Projects routes under /app/projects (docs/plugins/projects.md): list, create, get, patch, delete. */
import { jsonDoc, type RouteContext } from '../../core/index.ts'
import { ProjectModel } from './schema.ts'
import { principalActor } from './access.ts'
import type { ProjectsService } from './service.ts'

export const projectRoutes = ({ router }: RouteContext, projects: ProjectsService) =>
  router('/projects')
    .get('', ({ principal, query }) => projects.list(principalActor(principal), query), {
      query: ProjectModel.listQuery,
      // Documented, not declared as `response`: Elysia's response normalisation copies the
      // object and drops page()'s marker, which v2 needs for meta.pagination.
      detail: {
        summary: 'List my projects',
        description:
          "My personal projects, or with X-Organization-ID the organization's. Newest first; `search` matches the start of any word of the name, case-insensitively.",
        responses: { 200: jsonDoc('A page of projects', ProjectModel.list) },
      },
      scope: 'projects:read',
    })
    .post(
      '',
      async ({ principal, body, set }) => {
        const project = await projects.create(principalActor(principal), body)
        set.status = 201
        return project
      },
      {
        body: ProjectModel.create,
        response: { 201: ProjectModel.project },
        scope: 'projects:write',
        detail: {
          summary: 'Create a project',
          description: 'With X-Organization-ID it belongs to that organization (403 for the billing role).',
        },
      },
    )
    .get('/:project_id', ({ principal, params }) => projects.get(principalActor(principal), params.project_id), {
      params: ProjectModel.params,
      response: { 200: ProjectModel.project },
      scope: 'projects:read',
      detail: {
        summary: 'Get a project',
        description:
          '404 when it does not exist, is deleted, belongs to someone else, or to another organization than the active one.',
      },
    })
    .patch(
      '/:project_id',
      ({ principal, params, body }) => projects.update(principalActor(principal), params.project_id, body),
      {
        params: ProjectModel.params,
        body: ProjectModel.update,
        response: { 200: ProjectModel.project },
        scope: 'projects:write',
        detail: {
          summary: 'Update a project',
          description: "In an organization: its owners and admins and the project's creator (else 403).",
        },
      },
    )
    .delete(
      '/:project_id',
      async ({ principal, params, set }) => {
        await projects.remove(principalActor(principal), params.project_id)
        set.status = 204
      },
      {
        params: ProjectModel.params,
        scope: 'projects:write',
        detail: {
          summary: 'Delete a project (soft: deleted_at is set)',
          description: "In an organization: its owners and admins and the project's creator (else 403).",
          responses: { 204: { description: 'Deleted' } },
        },
      },
    )

/** TypeBox models of the projects plugin: request bodies, queries and the project object (docs/plugins/projects.md). */
import { pageQuery, t } from '../../core/index.ts'

export namespace ProjectModel {
  export const project = t.Object({
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    description: t.Union([t.String(), t.Null()]),
    owner_id: t.String({ description: 'The user who created it' }),
    org_id: t.Optional(
      t.String({ format: 'uuid', description: 'The organization it belongs to; absent on a personal project' }),
    ),
    created_at: t.String({ format: 'date-time' }),
    updated_at: t.String({ format: 'date-time' }),
  })
  export type project = typeof project.static

  export const create = t.Object({
    name: t.String({ minLength: 1, maxLength: 255, description: 'Project name (1-255 chars)' }),
    description: t.Optional(t.Union([t.String({ maxLength: 2000 }), t.Null()], { description: 'Max 2000 chars' })),
  })
  export type create = typeof create.static

  export const update = t.Object({
    name: t.Optional(t.String({ minLength: 1, maxLength: 255, description: 'New name (1-255 chars)' })),
    description: t.Optional(
      t.Union([t.String({ maxLength: 2000 }), t.Null()], { description: 'New description; null clears it' }),
    ),
  })
  export type update = typeof update.static

  export const listQuery = t.Object({
    ...pageQuery,
    search: t.Optional(
      t.String({ maxLength: 255, description: 'Case-insensitive search by name (matches the start of any word)' }),
    ),
  })
  export type listQuery = typeof listQuery.static

  export const params = t.Object({ project_id: t.String({ description: 'Project ID (UUID)' }) })

  export const list = t.Object({
    items: t.Array(project),
    total: t.Integer(),
    skip: t.Integer(),
    limit: t.Integer(),
  })
}

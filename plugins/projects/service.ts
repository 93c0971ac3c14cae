/** Projects service: owner-scoped CRUD with soft delete and name search. Plain values in and out; throws AppError. */
import { isUuid, notFound, page, paged, validation, type EventBus, type Page, type Sql } from '../../core/index.ts'
import type { ProjectModel } from './schema.ts'

export type Project = ProjectModel.project

export interface ProjectsService {
  list(ownerId: string, query: ProjectModel.listQuery): Promise<Page<Project>>
  get(ownerId: string, id: string): Promise<Project>
  create(ownerId: string, input: ProjectModel.create): Promise<Project>
  update(ownerId: string, id: string, input: ProjectModel.update): Promise<Project>
  /** Soft delete: sets deleted_at; the project is 404 everywhere afterwards. */
  remove(ownerId: string, id: string): Promise<void>
  /** True when `userId` owns the live project `id` (the WebSocket channel authoriser). */
  isOwner(userId: string, id: string): Promise<boolean>
}

interface Row {
  id: string
  name: string
  description: string | null
  owner_id: string
  created_at: Date
  updated_at: Date
}

export const toProject = (r: Row): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  owner_id: r.owner_id,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})

/**
 * `?search=` as a tsquery: each word of the input (letters and digits only, so the input can
 * never break the tsquery syntax) must prefix a word of the name. Undefined when nothing is left.
 */
export function searchTsQuery(search: string): string | undefined {
  const words = search.toLowerCase().match(/[\p{L}\p{N}]+/gu)
  if (!words) return undefined
  return words
    .slice(0, 16)
    .map((w) => `${w}:*`)
    .join(' & ')
}

/** Trims the name and refuses one left empty (the schema already bounds the length). */
function cleanName(name: string): string {
  const trimmed = name.trim()
  if (!trimmed) throw validation('name', 'Name must be at least 1 character')
  return trimmed
}

export function createProjectsService({ sql, events }: { sql: Sql; events: EventBus }): ProjectsService {
  const columns = sql`id, name, description, owner_id, created_at, updated_at`

  const find = async (ownerId: string, id: string): Promise<Row | undefined> => {
    if (!isUuid(id)) return undefined
    const [row] = await sql<Row[]>`select ${columns} from projects
      where id = ${id} and owner_id = ${ownerId} and deleted_at is null`
    return row
  }

  const get = async (ownerId: string, id: string): Promise<Project> => {
    const row = await find(ownerId, id)
    if (!row) throw notFound('Project', id)
    return toProject(row)
  }

  return {
    get,

    async list(ownerId, query) {
      let filter = sql``
      if (query.search?.trim()) {
        const tsq = searchTsQuery(query.search)
        // Served by projects_name_search_idx (same expression, same partial predicate).
        filter = tsq ? sql`and to_tsvector('simple', name) @@ to_tsquery('simple', ${tsq})` : sql`and false`
      }
      // Served by projects_owner_created_idx (owner, newest first; live projects only).
      const result = await paged<Row>(
        sql,
        { table: 'projects', columns, where: sql`owner_id = ${ownerId} and deleted_at is null ${filter}` },
        query,
      )
      return page(result.items.map(toProject), result, query)
    },

    async create(ownerId, input) {
      const [row] = await sql<Row[]>`insert into projects (owner_id, name, description)
        values (${ownerId}, ${cleanName(input.name)}, ${input.description ?? null})
        returning ${columns}`
      const project = toProject(row!)
      await events.publish('project.created', { project })
      return project
    },

    async update(ownerId, id, input) {
      const changes: Record<string, string | null> = {}
      if (input.name !== undefined) changes.name = cleanName(input.name)
      if (input.description !== undefined) changes.description = input.description
      if (!isUuid(id)) throw notFound('Project', id)
      if (Object.keys(changes).length === 0) return get(ownerId, id)
      const [row] = await sql<Row[]>`update projects set ${sql(changes)}, updated_at = now()
        where id = ${id} and owner_id = ${ownerId} and deleted_at is null
        returning ${columns}`
      if (!row) throw notFound('Project', id)
      const project = toProject(row)
      // Broadcast: every replica tells its `project:<id>` subscribers (websocket plugin, docs/plugins/websocket.md).
      await events.publish('project.updated', { project, changed: Object.keys(changes) }, { broadcast: true })
      return project
    },

    async remove(ownerId, id) {
      if (!isUuid(id)) throw notFound('Project', id)
      const [row] = await sql<{ id: string }[]>`update projects set deleted_at = now(), updated_at = now()
        where id = ${id} and owner_id = ${ownerId} and deleted_at is null
        returning id`
      if (!row) throw notFound('Project', id)
      await events.publish('project.deleted', { id, owner_id: ownerId }, { broadcast: true })
    },

    async isOwner(userId, id) {
      return (await find(userId, id)) !== undefined
    },
  }
}

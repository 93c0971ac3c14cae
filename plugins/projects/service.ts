/**
 * Projects service: CRUD with soft delete and name search, personal or in the caller's active
 * organization (access.ts). Plain values in and out; throws AppError.
 */
import { isUuid, notFound, page, paged, validation, type EventBus, type Page, type Sql } from '../../core/index.ts'
import { type Actor, actorOf, assertMayCreate, mayWrite, visibleTo, writableBy, writeRefused } from './access.ts'
import type { ProjectModel } from './schema.ts'

export type Project = ProjectModel.project
export type { Actor } from './access.ts'

/** `who`: a user id (their personal projects) or an Actor carrying the active organization. */
export interface ProjectsService {
  list(who: Actor | string, query: ProjectModel.listQuery): Promise<Page<Project>>
  get(who: Actor | string, id: string): Promise<Project>
  create(who: Actor | string, input: ProjectModel.create): Promise<Project>
  /** 404 when not visible to the caller, 403 when visible but not theirs to change. */
  update(who: Actor | string, id: string, input: ProjectModel.update): Promise<Project>
  /** Soft delete: sets deleted_at; the project is 404 everywhere afterwards. */
  remove(who: Actor | string, id: string): Promise<void>
  /** True when `userId` owns the live personal project `id`. */
  isOwner(userId: string, id: string): Promise<boolean>
  /** True when the caller sees the live project `id` (the WebSocket channel authoriser). */
  canRead(who: Actor | string, id: string): Promise<boolean>
  /** Soft-deletes every live project of an organization (on `org.deleted`); returns how many. */
  removeOrganization(orgId: string): Promise<number>
}

interface Row {
  id: string
  name: string
  description: string | null
  owner_id: string
  org_id: string | null
  created_at: Date
  updated_at: Date
}

/** `org_id` only on an organization's project: a personal project reads exactly as before organizations. */
export const toProject = (r: Row): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  owner_id: r.owner_id,
  ...(r.org_id ? { org_id: r.org_id } : {}),
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})

/** The project.deleted payload: `org_id` only for an organization's project. */
const deletedPayload = (r: { id: string; owner_id: string; org_id: string | null }) => ({
  id: r.id,
  owner_id: r.owner_id,
  ...(r.org_id ? { org_id: r.org_id } : {}),
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
  const columns = sql`id, name, description, owner_id, org_id, created_at, updated_at`

  const find = async (a: Actor, id: string): Promise<Row | undefined> => {
    if (!isUuid(id)) return undefined
    const [row] = await sql<Row[]>`select ${columns} from projects
      where id = ${id} and ${visibleTo(sql, a)} and deleted_at is null`
    return row
  }

  const get = async (who: Actor | string, id: string): Promise<Project> => {
    const row = await find(actorOf(who), id)
    if (!row) throw notFound('Project', id)
    return toProject(row)
  }

  /** After a write matched no row: 404 when the caller cannot see it, 403 when they see it but may not change it. */
  const refusal = async (a: Actor, id: string) => {
    const row = await find(a, id)
    return row && !mayWrite(a, row.owner_id) ? writeRefused('project') : notFound('Project', id)
  }

  return {
    get,

    async list(who, query) {
      const a = actorOf(who)
      let filter = sql``
      if (query.search?.trim()) {
        const tsq = searchTsQuery(query.search)
        // Served by projects_name_search_idx (same expression, same partial predicate).
        filter = tsq ? sql`and to_tsvector('simple', name) @@ to_tsquery('simple', ${tsq})` : sql`and false`
      }
      // Served by projects_org_created_idx (an organization's) or projects_owner_created_idx (personal).
      const result = await paged<Row>(
        sql,
        { table: 'projects', columns, where: sql`${visibleTo(sql, a)} and deleted_at is null ${filter}` },
        query,
      )
      return page(result.items.map(toProject), result, query)
    },

    async create(who, input) {
      const a = actorOf(who)
      assertMayCreate(a, 'projects')
      const [row] = await sql<Row[]>`insert into projects (owner_id, org_id, name, description)
        values (${a.userId}, ${a.org?.id ?? null}, ${cleanName(input.name)}, ${input.description ?? null})
        returning ${columns}`
      const project = toProject(row!)
      await events.publish('project.created', { project })
      return project
    },

    async update(who, id, input) {
      const a = actorOf(who)
      const changes: Record<string, string | null> = {}
      if (input.name !== undefined) changes.name = cleanName(input.name)
      if (input.description !== undefined) changes.description = input.description
      if (!isUuid(id)) throw notFound('Project', id)
      if (Object.keys(changes).length === 0) {
        const row = await find(a, id)
        if (!row) throw notFound('Project', id)
        if (!mayWrite(a, row.owner_id)) throw writeRefused('project')
        return toProject(row)
      }
      // One statement: visibility and the write rule are checked where the row changes.
      const [row] = await sql<Row[]>`update projects set ${sql(changes)}, updated_at = now()
        where id = ${id} and ${visibleTo(sql, a)} ${writableBy(sql, a)} and deleted_at is null
        returning ${columns}`
      if (!row) throw await refusal(a, id)
      const project = toProject(row)
      // Broadcast: every replica tells its `project:<id>` subscribers (websocket plugin, docs/plugins/websocket.md).
      await events.publish('project.updated', { project, changed: Object.keys(changes) }, { broadcast: true })
      return project
    },

    async remove(who, id) {
      const a = actorOf(who)
      if (!isUuid(id)) throw notFound('Project', id)
      const [row] = await sql<Row[]>`update projects set deleted_at = now(), updated_at = now()
        where id = ${id} and ${visibleTo(sql, a)} ${writableBy(sql, a)} and deleted_at is null
        returning id, owner_id, org_id`
      if (!row) throw await refusal(a, id)
      await events.publish('project.deleted', deletedPayload(row), { broadcast: true })
    },

    async isOwner(userId, id) {
      return (await find({ userId }, id)) !== undefined
    },

    async canRead(who, id) {
      return (await find(actorOf(who), id)) !== undefined
    },

    async removeOrganization(orgId) {
      // Served by projects_org_created_idx; one statement however many projects the organization had.
      const rows = await sql<Row[]>`update projects set deleted_at = now(), updated_at = now()
        where org_id = ${orgId} and deleted_at is null returning id, owner_id, org_id`
      for (const row of rows) await events.publish('project.deleted', deletedPayload(row), { broadcast: true })
      return rows.length
    },
  }
}

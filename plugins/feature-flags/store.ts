/**
 * Feature flags in the database: list, get, create, update, delete. Each change and its audit
 * entry commit in one transaction; the caller then refreshes every replica's cache.
 */
import {
  conflict,
  isUuid,
  notFound,
  page,
  paged,
  validation,
  type AuditInput,
  type AuditLog,
  type Page,
  type Sql,
} from '../../core/index.ts'
import type { FlagRow, FlagType } from './evaluate.ts'

export interface FlagView {
  id: string
  key: string
  name: string
  description: string | null
  flag_type: FlagType
  is_enabled: boolean
  percentage: number
  user_ids: string[]
  plans: string[]
  expires_at: string | null
  created_at: string
  updated_at: string
}

export interface FlagInput {
  key: string
  name: string
  description?: string | null
  flag_type?: FlagType
  is_enabled?: boolean
  percentage?: number
  user_ids?: string[]
  plans?: string[]
  expires_at?: string | null
}

export type FlagPatch = Partial<Omit<FlagInput, 'key'>>

/** Who made a change, from the request (AuditLog.from). */
export type Actor = Pick<AuditInput, 'actor_id' | 'ip_address' | 'request_id'> & { details: Record<string, unknown> }

const COLUMNS =
  'id, key, name, description, flag_type, is_enabled, percentage, user_ids, plans, expires_at, created_at, updated_at'
const FIELDS = [
  'name',
  'description',
  'flag_type',
  'is_enabled',
  'percentage',
  'user_ids',
  'plans',
  'expires_at',
] as const

export const toView = (r: FlagRow): FlagView => ({
  id: r.id,
  key: r.key,
  name: r.name,
  description: r.description,
  flag_type: r.flag_type,
  is_enabled: r.is_enabled,
  percentage: r.percentage,
  user_ids: r.user_ids,
  plans: r.plans,
  expires_at: r.expires_at ? r.expires_at.toISOString() : null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})

/** A date-time string as a Date, or 422 naming expires_at. */
function expiry(value: string | null | undefined): Date | null | undefined {
  if (value === undefined || value === null) return value
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) throw validation('expires_at', 'expires_at must be an ISO 8601 date-time')
  return d
}

const uniq = (xs: string[] | undefined) => (xs === undefined ? undefined : [...new Set(xs)])

export interface FlagStore {
  all(): Promise<FlagRow[]>
  list(query: { skip: number; limit: number }): Promise<Page<FlagView>>
  /** By id, or by key. */
  get(idOrKey: string): Promise<FlagRow>
  create(input: FlagInput, actor: Actor): Promise<FlagRow>
  update(idOrKey: string, patch: FlagPatch, actor: Actor): Promise<FlagRow>
  remove(idOrKey: string, actor: Actor): Promise<FlagRow>
}

export function createFlagStore(sql: Sql, audit: AuditLog): FlagStore {
  const where = (db: Sql, idOrKey: string) =>
    isUuid(idOrKey) ? db`id = ${idOrKey.toLowerCase()}` : db`key = ${idOrKey}`
  const entry = (actor: Actor, action: string, row: FlagRow, details: Record<string, unknown>): AuditInput => ({
    ...actor,
    action,
    resource_type: 'feature_flag',
    resource_id: row.id,
    details: { ...actor.details, key: row.key, ...details },
  })

  return {
    all: () => sql<FlagRow[]>`select ${sql.unsafe(COLUMNS)} from feature_flags order by key`,

    async list(query) {
      // Served by feature_flags_created_idx.
      const result = await paged<FlagRow>(sql, { table: 'feature_flags', columns: sql.unsafe(COLUMNS) }, query)
      return page(result.items.map(toView), result, query)
    },

    async get(idOrKey) {
      const [row] = await sql<FlagRow[]>`select ${sql.unsafe(COLUMNS)} from feature_flags where ${where(sql, idOrKey)}`
      if (!row) throw notFound('Feature flag', idOrKey)
      return row
    },

    create(input, actor) {
      if (isUuid(input.key)) throw validation('key', 'key must not have the shape of a UUID (flag ids do)')
      return sql.begin(async (tx) => {
        const db = tx as unknown as Sql
        const [row] = await db<FlagRow[]>`
          insert into feature_flags (key, name, description, flag_type, is_enabled, percentage, user_ids, plans, expires_at)
          values (${input.key}, ${input.name}, ${input.description ?? null}, ${input.flag_type ?? 'boolean'},
                  ${input.is_enabled ?? false}, ${input.percentage ?? 0}, ${uniq(input.user_ids) ?? []}::text[],
                  ${uniq(input.plans) ?? []}::text[], ${expiry(input.expires_at) ?? null})
          on conflict (key) do nothing
          returning ${db.unsafe(COLUMNS)}`
        if (!row) throw conflict(`Feature flag "${input.key}" already exists`, { field: 'key', key: input.key })
        await audit.record(entry(actor, 'feature_flag.create', row, { flag: toView(row) }), tx)
        return row
      }) as Promise<FlagRow>
    },

    update(idOrKey, patch, actor) {
      const next = {
        ...patch,
        user_ids: uniq(patch.user_ids),
        plans: uniq(patch.plans),
        expires_at: expiry(patch.expires_at),
      }
      return sql.begin(async (tx) => {
        const db = tx as unknown as Sql
        const [before] = await db<
          FlagRow[]
        >`select ${db.unsafe(COLUMNS)} from feature_flags where ${where(db, idOrKey)} for update`
        if (!before) throw notFound('Feature flag', idOrKey)
        const set = (k: (typeof FIELDS)[number]) => (next[k] === undefined ? before[k] : next[k])
        const [row] = await db<FlagRow[]>`
          update feature_flags set
            name = ${set('name') as string}, description = ${set('description') as string | null},
            flag_type = ${set('flag_type') as string}, is_enabled = ${set('is_enabled') as boolean},
            percentage = ${set('percentage') as number}, user_ids = ${set('user_ids') as string[]}::text[],
            plans = ${set('plans') as string[]}::text[], expires_at = ${set('expires_at') as Date | null}, updated_at = now()
          where id = ${before.id}
          returning ${db.unsafe(COLUMNS)}`
        const b = toView(before)
        const a = toView(row!)
        const changes: Record<string, { from: unknown; to: unknown }> = {}
        for (const k of FIELDS) if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) changes[k] = { from: b[k], to: a[k] }
        await audit.record(entry(actor, 'feature_flag.update', row!, { changes }), tx)
        return row!
      }) as Promise<FlagRow>
    },

    remove(idOrKey, actor) {
      return sql.begin(async (tx) => {
        const db = tx as unknown as Sql
        const [row] = await db<
          FlagRow[]
        >`delete from feature_flags where ${where(db, idOrKey)} returning ${db.unsafe(COLUMNS)}`
        if (!row) throw notFound('Feature flag', idOrKey)
        await audit.record(entry(actor, 'feature_flag.delete', row, { flag: toView(row) }), tx)
        return row
      }) as Promise<FlagRow>
    },
  }
}

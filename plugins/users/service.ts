/** Users service: profile views (v1, v2), fields other plugins contribute, identity-provider sync, dashboard stats. */
import type { EventBus, PluginContext, Queryable, Sql, SqlFragment, User } from '../../core/index.ts'

/** A users row as this plugin sees it (the core's columns plus the ones its migration adds). */
export interface UserRow extends User {
  idp_updated_at?: Date | null
  deleted_at?: Date | null
}

export interface UserView {
  id: string
  email: string | null
  full_name: string | null
  avatar_url: string | null
  role: User['role']
  is_active: boolean
  subscription_plan: string | null
  subscription_status: string | null
  created_at: Date
  [field: string]: unknown
}

/** Extra fields per user id, e.g. the billing plugin's `subscription_plan` and `subscription_status`. */
export type ProfileContributor = (
  ids: string[],
) => Promise<Record<string, Record<string, unknown>>> | Record<string, Record<string, unknown>>

/** A change reported by the identity provider (Clerk, Supabase). `undefined` fields are left as they are. */
export interface IdentityChange {
  id: string
  email?: string | null
  full_name?: string | null
  avatar_url?: string | null
  /** When the provider made the change: an older change than the last one applied is ignored. */
  changedAt: Date
  /** Deleted at the provider: the row is deactivated and anonymised. */
  deleted?: boolean
}

export type IdentityOutcome = 'applied' | 'stale' | 'missing'

export interface UsersService {
  get(id: string, tx?: Queryable): Promise<UserRow | undefined>
  /** The v1 views of rows, with the contributed fields (one call per contributor for the whole list). */
  views(rows: UserRow[], extra?: (row: UserRow) => Record<string, unknown>): Promise<UserView[]>
  /** v2 adds is_premium and days_since_joined (docs/versioning.md#envelopes). */
  present(view: UserView, version: string): UserView
  updateProfile(id: string, patch: { full_name?: string | null; avatar_url?: string | null }): Promise<UserRow>
  /** Called by plugins that know more about a user (billing): their fields join /users/me and admin lists. */
  addProfileFields(contributor: ProfileContributor): void
  /** Provisions the user as a first token would (ADMIN_EMAILS / SUPERADMIN_EMAILS apply). Outside transactions. */
  provision(claims: {
    sub: string
    email?: string | null
    name?: string | null
    avatar_url?: string | null
  }): Promise<User>
  /** Applies a provider change inside `tx`, unless it is older than the last one applied. */
  applyIdentityChange(change: IdentityChange, tx: Queryable): Promise<IdentityOutcome>
  /** Drops the user from every replica's cache (role, activation or profile changed). */
  changed(id: string): Promise<void>
  /**
   * Whether `id` is a service user (a reserved subject such as an organization's `org:<id>`,
   * docs/auth.md#service-users): not a person, managed by its plugin, never listed, counted,
   * changed or impersonated by an admin.
   */
  isServiceUser(id: string): boolean
  /** A condition on `users.id` that leaves service users out (`true` when none are reserved). */
  people(): SqlFragment
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c)

const DAY_MS = 86_400_000
const PREMIUM_STATUSES = new Set(['active', 'trialing'])

export function createUsersService(
  ctx: Pick<PluginContext, 'sql' | 'events' | 'auth' | 'stats' | 'logger'>,
): UsersService {
  const sql: Sql = ctx.sql
  const events: EventBus = ctx.events
  const contributors: ProfileContributor[] = []

  const changed = async (id: string) => {
    ctx.auth.users.invalidate(id)
    await events.publish('user.changed', { id }, { broadcast: true })
  }

  const isServiceUser = (id: string) => ctx.auth.reservedSubjects().some((prefix) => id.startsWith(prefix))
  // Read at each call: the plugin that reserves a namespace may set up after this one.
  const people = () => {
    const patterns = ctx.auth.reservedSubjects().map((prefix) => `${escapeLike(prefix)}%`)
    return patterns.length ? sql`not (id like any(${patterns}::text[]))` : sql`true`
  }

  ctx.stats.contribute('users', async () => {
    const [row] = await sql<{ total: number; active: number; new_last_7_days: number; new_last_30_days: number }[]>`
      select count(*)::int as total,
             count(*) filter (where is_active)::int as active,
             count(*) filter (where created_at > now() - interval '7 days')::int as new_last_7_days,
             count(*) filter (where created_at > now() - interval '30 days')::int as new_last_30_days
      from users where ${people()}`
    return row!
  })

  return {
    isServiceUser,
    people,
    async get(id, tx = sql) {
      const [row] = await (tx as Sql)<UserRow[]>`select * from users where id = ${id}`
      return row
    },

    async views(rows, extra) {
      const ids = rows.map((r) => r.id)
      const contributed = ids.length ? await Promise.all(contributors.map((c) => c(ids))) : []
      return rows.map((r) => {
        const view: UserView = {
          id: r.id,
          email: r.email,
          full_name: r.full_name,
          avatar_url: r.avatar_url,
          role: r.role,
          is_active: r.is_active,
          subscription_plan: 'free',
          subscription_status: null,
          created_at: r.created_at,
          ...extra?.(r),
        }
        for (const c of contributed) Object.assign(view, c[r.id])
        return view
      })
    },

    present(view, version) {
      if (version !== 'v2') return view
      const plan = view.subscription_plan
      const premium =
        typeof view.is_premium === 'boolean'
          ? view.is_premium
          : !!plan && plan !== 'free' && PREMIUM_STATUSES.has(String(view.subscription_status))
      const joined = new Date(view.created_at).getTime()
      return {
        ...view,
        is_premium: premium,
        days_since_joined: Math.max(0, Math.floor((Date.now() - joined) / DAY_MS)),
      }
    },

    async updateProfile(id, patch) {
      const fields: Record<string, string | null> = {}
      if (patch.full_name !== undefined)
        fields.full_name = patch.full_name === null ? null : patch.full_name.trim() || null
      if (patch.avatar_url !== undefined) fields.avatar_url = patch.avatar_url
      const columns = Object.keys(fields)
      const [row] = columns.length
        ? await sql<
            UserRow[]
          >`update users set ${sql(fields, ...columns)}, updated_at = now() where id = ${id} returning *`
        : await sql<UserRow[]>`select * from users where id = ${id}`
      if (columns.length) await changed(id)
      return row!
    },

    addProfileFields(contributor) {
      contributors.push(contributor)
    },

    provision(claims) {
      return ctx.auth.users.ensure({
        sub: claims.sub,
        email: claims.email,
        name: claims.name,
        avatar_url: claims.avatar_url,
      })
    },

    async applyIdentityChange(change, tx) {
      const db = tx as Sql
      let rows: { id: string }[]
      if (change.deleted) {
        rows = await db`
          update users set is_active = false, email = null, full_name = null, avatar_url = null,
            deleted_at = coalesce(deleted_at, now()), idp_updated_at = ${change.changedAt}, updated_at = now()
          where id = ${change.id} and (idp_updated_at is null or idp_updated_at <= ${change.changedAt})
          returning id`
      } else {
        const set = (k: 'email' | 'full_name' | 'avatar_url') => change[k] !== undefined
        rows = await db`
          update users set
            email = case when ${set('email')} then ${change.email ?? null} else email end,
            full_name = case when ${set('full_name')} then ${change.full_name ?? null} else full_name end,
            avatar_url = case when ${set('avatar_url')} then ${change.avatar_url ?? null} else avatar_url end,
            idp_updated_at = ${change.changedAt}, updated_at = now()
          where id = ${change.id} and (idp_updated_at is null or idp_updated_at <= ${change.changedAt})
          returning id`
      }
      if (rows.length) return 'applied'
      const [exists] = await db`select 1 from users where id = ${change.id}`
      return exists ? 'stale' : 'missing'
    },

    changed,
  }
}

/**
 * The feature-flags service: every flag held in memory and evaluated from there; a change
 * reloads this replica at once and, through the broadcast `feature_flag.changed` event, every
 * other replica. A periodic reload covers events missed while Redis was unreachable.
 */
import { isUuid, type EventBus, type Logger, type Page } from '../../core/index.ts'
import { compile, evaluate, FLAG_TYPES, type CompiledFlag, type Evaluation } from './evaluate.ts'
import { toView, type Actor, type FlagInput, type FlagPatch, type FlagStore, type FlagView } from './store.ts'

/**
 * The plan of a user for plan_based flags (the billing plugin registers one); with `orgId`, the
 * plan of that active organization, which its members share (docs/plugins/feature-flags.md#plans).
 */
export type PlanResolver = (
  userId: string,
  orgId?: string,
) => string | null | undefined | Promise<string | null | undefined>

/** A user id, or anything with an `id` (the `user` of a route handler); null for nobody. */
export type FlagSubject = string | { id: string } | null

export interface EvaluateOptions {
  /** Use this plan instead of asking the resolver. */
  plan?: string
  /** The caller's active organization (principal.org): its plan applies instead of the user's own. */
  org?: string
}

export const DEFAULT_PLAN = 'free'

export interface FeatureFlagsService {
  /** Whether `key` is on for `user` (false for an unknown flag). */
  isEnabled(key: string, user: FlagSubject, options?: EvaluateOptions): Promise<boolean>
  /** The answer with its reason; `not_found` for an unknown flag. */
  evaluate(key: string, user: FlagSubject, options?: EvaluateOptions): Promise<Evaluation>
  /** Every flag for `user`, by key. */
  evaluateAll(user: FlagSubject, options?: EvaluateOptions): Promise<Evaluation[]>
  /** Where plan_based flags read a user's plan; without one everybody is on 'free'. */
  setPlanResolver(resolver: PlanResolver | undefined): void
  /** Re-reads every flag from the database. */
  reload(): Promise<void>
}

export interface FlagAdmin {
  list(query: { skip: number; limit: number }): Promise<Page<FlagView>>
  get(idOrKey: string): Promise<FlagView>
  create(input: FlagInput, actor: Actor): Promise<FlagView>
  update(idOrKey: string, patch: FlagPatch, actor: Actor): Promise<FlagView>
  remove(idOrKey: string, actor: Actor): Promise<void>
  /** The check endpoint: 404 for an unknown flag. */
  check(idOrKey: string, userId: string, options?: EvaluateOptions): Promise<Evaluation>
  stats(): Record<string, unknown>
}

export interface FlagsOptions {
  store: FlagStore
  events: EventBus
  logger: Logger
  now: () => Date
  refreshMs: number
}

export const CHANGED = 'feature_flag.changed'

/** How long a resolved plan is reused; a `subscription.updated` event replaces it at once. */
export const PLAN_TTL_MS = 30_000
const PLAN_CACHE_MAX = 10_000

export interface FlagsInternals {
  start(): Promise<void>
  stop(): void
  /** A user's plan changed (the billing plugin's broadcast `subscription.updated`). */
  planChanged(userId: string, plan: string | null): void
  /** An organization's plan changed (the billing plugin's broadcast `org_subscription.updated`). */
  orgPlanChanged(orgId: string, plan: string | null): void
}

export function createFeatureFlags(o: FlagsOptions): FeatureFlagsService & FlagAdmin & FlagsInternals {
  let byKey = new Map<string, CompiledFlag>()
  let byId = new Map<string, CompiledFlag>()
  let loaded: Promise<void> | undefined
  let started = 0
  let applied = 0
  let resolver: PlanResolver | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  const plans = new Map<string, { plan: string; until: number }>()

  const remember = (userId: string, plan: string) => {
    if (plans.size >= PLAN_CACHE_MAX) plans.delete(plans.keys().next().value as string)
    plans.set(userId, { plan, until: Date.now() + PLAN_TTL_MS })
    return plan
  }

  const reload = async () => {
    // Reloads may overlap (a local change and its broadcast): the one started last wins.
    const mine = ++started
    const rows = await o.store.all()
    if (mine < applied) return
    applied = mine
    const next = rows.map(compile)
    byKey = new Map(next.map((f) => [f.row.key, f]))
    byId = new Map(next.map((f) => [f.row.id, f]))
  }
  const ready = () =>
    (loaded ??= reload().catch((err) => {
      loaded = undefined
      throw err
    }))

  const planOf = async (userId: string | null, options?: EvaluateOptions): Promise<string> => {
    if (options?.plan !== undefined) return options.plan
    if (userId === null || !resolver) return DEFAULT_PLAN
    // An organization's plan is the same for all its members: cached once per organization.
    const org = options?.org
    const cacheKey = org ? `org:${org}` : userId
    const cached = plans.get(cacheKey)
    if (cached && cached.until > Date.now()) return cached.plan
    try {
      return remember(cacheKey, (await (org ? resolver(userId, org) : resolver(userId))) ?? DEFAULT_PLAN)
    } catch (err) {
      o.logger.error('plan resolver failed; using the default plan', { user_id: userId, error: err })
      return DEFAULT_PLAN
    }
  }

  const idOf = (user: FlagSubject) => (user === null ? null : typeof user === 'string' ? user : user.id)

  /** Evaluates flags, asking for the plan at most once and only if a plan_based flag needs it. */
  const run = async (flags: CompiledFlag[], user: FlagSubject, options?: EvaluateOptions) => {
    const userId = idOf(user)
    const plan = flags.some((f) => f.row.flag_type === 'plan_based' && f.row.is_enabled)
      ? await planOf(userId, options)
      : DEFAULT_PLAN
    const now = o.now().getTime()
    return flags.map((f) => evaluate(f, { userId, plan: () => plan, now }))
  }

  const find = (idOrKey: string) =>
    (isUuid(idOrKey) ? byId.get(idOrKey.toLowerCase()) : undefined) ?? byKey.get(idOrKey)

  const changed = async (view: FlagView, action: string) => {
    await reload()
    await o.events.publish(CHANGED, { id: view.id, key: view.key, action }, { broadcast: true })
  }

  const service = {
    async isEnabled(key: string, user: FlagSubject, options?: EvaluateOptions) {
      return (await service.evaluate(key, user, options)).is_enabled
    },
    async evaluate(key: string, user: FlagSubject, options?: EvaluateOptions): Promise<Evaluation> {
      await ready()
      const flag = byKey.get(key)
      if (!flag) return { flag_key: key, is_enabled: false, reason: 'not_found' }
      return (await run([flag], user, options))[0]!
    },
    async evaluateAll(user: FlagSubject, options?: EvaluateOptions) {
      await ready()
      return run([...byKey.values()], user, options)
    },
    setPlanResolver(r: PlanResolver | undefined) {
      resolver = r
      plans.clear()
    },
    reload,

    list: (query: { skip: number; limit: number }) => o.store.list(query),
    async get(idOrKey: string) {
      return toView(await o.store.get(idOrKey))
    },
    async create(input: FlagInput, actor: Actor) {
      const view = toView(await o.store.create(input, actor))
      await changed(view, 'create')
      return view
    },
    async update(idOrKey: string, patch: FlagPatch, actor: Actor) {
      const view = toView(await o.store.update(idOrKey, patch, actor))
      await changed(view, 'update')
      return view
    },
    async remove(idOrKey: string, actor: Actor) {
      await changed(toView(await o.store.remove(idOrKey, actor)), 'delete')
    },
    async check(idOrKey: string, userId: string, options?: EvaluateOptions) {
      await ready()
      let flag = find(idOrKey)
      // Not cached yet (changed on another replica a moment ago): the database decides.
      if (!flag) flag = compile(await o.store.get(idOrKey))
      return (await run([flag], userId, options))[0]!
    },
    stats() {
      const now = o.now().getTime()
      const flags = [...byKey.values()]
      const by_type = Object.fromEntries(FLAG_TYPES.map((t) => [t, flags.filter((f) => f.row.flag_type === t).length]))
      return {
        total: flags.length,
        enabled: flags.filter((f) => f.row.is_enabled && now < f.expiresAt).length,
        expired: flags.filter((f) => now >= f.expiresAt).length,
        by_type,
      }
    },

    async start() {
      await ready()
      if (o.refreshMs > 0) {
        timer = setInterval(
          () => reload().catch((err) => o.logger.error('feature flag refresh failed', { error: err })),
          o.refreshMs,
        )
        ;(timer as { unref?: () => void }).unref?.()
      }
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
    },
    planChanged(userId: string, plan: string | null) {
      plans.delete(userId)
      if (resolver && plan) remember(userId, plan)
    },
    orgPlanChanged(orgId: string, plan: string | null) {
      plans.delete(`org:${orgId}`)
      if (resolver && plan) remember(`org:${orgId}`, plan)
    },
  }
  return service
}

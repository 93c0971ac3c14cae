/**
 * The plugin contract (docs/writing-a-plugin.md): a plugin declares its name, dependencies,
 * config and migrations; `setup(ctx)` runs once per app, in dependency order, and returns the
 * plugin's instance: its service, routes, jobs, event handlers, channels and lifecycle.
 * Everything a plugin keeps per app lives in the closure of its setup, never in module state.
 */
import type { AnyElysia } from 'elysia'
import type { AuditLog, StatsRegistry } from '../audit/index.ts'
import type { Authenticator, UserDirectory } from '../auth/index.ts'
import type { ConfigShape, InferConfig, CoreConfig } from '../config/index.ts'
import type { Sql } from '../db/index.ts'
import type { EventBus, EventMap } from '../events/index.ts'
import type { ApiVersion } from '../http/index.ts'
import type { InboundPipeline } from '../inbound/index.ts'
import type { JobHandler, JobQueue } from '../jobs/index.ts'
import type { HealthChecks, Logger, MeterFn, MeterSink, Metrics } from '../observability/index.ts'
import type { RateRule } from '../rate-limit/index.ts'
import type { SocketEndpoint, SocketServer } from './sockets.ts'
import type { ChannelAuthorizer, ChannelRegistry } from './channels.ts'
import type { DoctorHook } from './doctor.ts'
import type { PublicRouterFactory, RouterFactory } from './router.ts'

export type { ChannelAuthorizer } from './channels.ts'

export type Zone = 'public' | 'app' | 'admin'

/** A rate-limit class a plugin adds (docs/rate-limits.md), matched by path prefix inside its zone. */
export interface RateLimitClassDefinition {
  /** Path under the zone, e.g. '/public/contact'. The most specific prefix wins. */
  path: string
  rule: RateRule
  methods?: readonly string[]
  /** Count per client IP even when authenticated (contact form). */
  perIp?: boolean
  message?: string
}

/** Plugins named as dependencies, by the key the dependent reads them under in `ctx.deps`. */
export type PluginRefs = Record<string, AnyPlugin>

/**
 * An optional dependency, named rather than imported
 * (docs/writing-a-plugin.md#optional-dependencies): `Port` is the part of the provider's service
 * the dependent uses, declared by the dependent, so the dependent's code (and an app created
 * without the provider) type-checks without the provider's files. `optional<Port>(name)`
 * (ports.ts) makes one; a type-level test ties the port to the real service (`portMismatches`).
 */
export interface OptionalDependency<Port = unknown> {
  readonly name: string
  readonly optional: true
  /** Type-only: never set at runtime. */
  readonly __port?: Port
}

/** Optional dependencies, by the key the dependent reads them under in `ctx.deps`. */
export type OptionalRefs = Record<string, OptionalDependency<any>>

/** The port a dependent declared for an optional dependency. */
export type PortOf<R> = R extends OptionalDependency<infer P> ? P : never

/** The service a plugin's setup returns (what its dependents get). */
export type ServiceOf<P> = P extends Plugin<any, infer S, any> ? S : never

/** `ctx.deps` of a plugin: required dependencies as their service, optional ones as their port or undefined. */
export type DepsOf<D extends PluginRefs, O extends OptionalRefs> = { readonly [K in keyof D]: ServiceOf<D[K]> } & {
  readonly [K in keyof O]: PortOf<O[K]> | undefined
}

export interface PluginContext<C = unknown, Deps = {}> {
  readonly name: string
  readonly config: C
  /** The services of the plugins named in dependsOn (and optionalDependsOn, undefined when absent). */
  readonly deps: Deps
  /** Core settings a plugin may read (public URL, data dir, limits). */
  readonly core: Readonly<
    Pick<CoreConfig, 'publicUrl' | 'dataDir' | 'maxUploadBytes' | 'maxJsonBytes' | 'nodeEnv' | 'corsOrigins'>
  > & { publicUrl: string }
  readonly sql: Sql
  readonly logger: Logger
  readonly events: EventBus
  readonly jobs: JobQueue
  readonly meter: MeterFn
  readonly metrics: Metrics
  readonly auth: Pick<
    Authenticator,
    'addResolver' | 'setOrganizationResolver' | 'reserveSubjects' | 'reservedSubjects'
  > & { users: UserDirectory }
  /** Rate-limit counters of a class (contact form status). */
  readonly rateLimits: {
    peek(className: string, key: string): Promise<{ limit: number; remaining: number; reset: number; window: string }>
  }
  /** Readiness checks: add a component that /health/ready reports. */
  readonly health: HealthChecks
  /** WebSocket channel authorisation across plugins (the websocket plugin asks here). */
  readonly channels: Pick<ChannelRegistry, 'authorize' | 'kinds'>
  /** Append-only audit log: record(entry, tx) inside the transaction of the change. */
  readonly audit: AuditLog
  /** Admin dashboard sections this plugin contributes (absent plugins contribute nothing). */
  readonly stats: StatsRegistry
  /** Inbound events (webhooks) of every provider: register an applier per provider, then receive() verified events. */
  readonly inbound: InboundPipeline
}

/** What a route factory gets: the plugin's context plus the version being mounted and its router. */
export interface RouteContext<C = unknown, R = RouterFactory, Deps = {}> extends PluginContext<C, Deps> {
  /** The version these routes are being built for: factories run once per mounted version. */
  readonly version: ApiVersion
  readonly router: R
}

/** What a `public` zone route factory gets (no principal: the routes are unauthenticated). */
export type PublicRouteContext<C = unknown, Deps = {}> = RouteContext<C, PublicRouterFactory, Deps>

/** Event names some plugin declared (EventMap's index signature, which allows any name, left out). */
export type KnownEventName = keyof { [K in keyof EventMap as string extends K ? never : K]: true } & string

/** Event handlers of a plugin, by declared event name, each with its declared payload type. */
export type EventHandlers = {
  [K in KnownEventName]?: (payload: EventMap[K]) => void | Promise<void>
}

/** What `setup` returns: one per app. Every part is optional. */
export interface PluginInstance<Service = undefined, C = unknown, Deps = {}> {
  /** What dependents get as `ctx.deps.<name>`, and `app.service(plugin)` returns. */
  service?: Service
  /** Route factories per zone, mounted under /api/{v}/{zone}; each runs once per API version. */
  routes?: {
    public?: (ctx: PublicRouteContext<C, Deps>) => AnyElysia
    app?: (ctx: RouteContext<C, RouterFactory, Deps>) => AnyElysia
    admin?: (ctx: RouteContext<C, RouterFactory, Deps>) => AnyElysia
  }
  jobs?: Record<string, JobHandler>
  schedules?: readonly { job: string; cron: string; payload?: unknown }[]
  on?: EventHandlers
  /** WebSocket channel kinds this plugin owns: `<kind>:<id>` is authorised here. */
  channels?: Record<string, ChannelAuthorizer>
  /**
   * A WebSocket endpoint at /api/{v}/app<path>: the upgrade runs through the pipeline (`?token=`
   * accepted), then the runtime serves the socket; `server.publish` fans out to local sockets.
   */
  websocket?: (server: SocketServer) => SocketEndpoint<any>
  rateLimits?: Record<string, RateLimitClassDefinition>
  /** The sink of the core's meter() (the usage plugin); at most one per app. */
  meterSink?: MeterSink
  start?: () => void | Promise<void>
  /**
   * Shutdown: the server stops accepting and waits for in-flight requests
   * (docs/writing-a-plugin.md#drain). End long-lived responses here (event streams), so they do
   * not hold the shutdown until SHUTDOWN_TIMEOUT_MS, and end any opened from now on at once.
   * Called once, in reverse boot order, before `stop`; never called by `app.stop()` alone.
   */
  drain?: () => void | Promise<void>
  stop?: () => void | Promise<void>
}

export interface PluginDefinition<
  S extends ConfigShape = ConfigShape,
  D extends PluginRefs = {},
  O extends OptionalRefs = {},
  Service = undefined,
> {
  /** kebab-case; also the migration namespace and the log/metric label. */
  name: string
  /** Plugins that must be installed and boot first; their services arrive in `ctx.deps`. */
  dependsOn?: D
  /**
   * Plugins used when installed (booted first then), by name with the port this plugin needs:
   * `{ organizations: optional<OrgPort>('organizations') }`; `ctx.deps.<key>` is undefined
   * otherwise.
   */
  optionalDependsOn?: O
  /** OpenAPI tag applied to every route of the plugin. */
  tag?: { name: string; description?: string }
  config?: S
  /** Folder of NNNN_snake_name.sql files. */
  migrations?: URL | string
  /**
   * Path prefixes after /api/{v} (e.g. '/public/files/') whose request bodies are file uploads:
   * bounded by MAX_UPLOAD_BYTES whatever their Content-Type (not MAX_JSON_BODY_BYTES for text/*
   * or JSON files); the route streams `request.body` itself (route option `parse: () => null`).
   */
  uploadPaths?: readonly string[]
  /**
   * `npm run doctor`: checks of this plugin's configuration beyond parsing (secret forms, its
   * external services reachable), run before anything boots (docs/writing-a-plugin.md#doctor).
   */
  doctor?: DoctorHook<InferConfig<S>>
  /** Runs once per app, after the plugins it depends on; returns the plugin's instance. */
  setup?: (
    ctx: PluginContext<InferConfig<S>, DepsOf<D, O>>,
  ) =>
    | PluginInstance<Service, InferConfig<S>, DepsOf<D, O>>
    | Promise<PluginInstance<Service, InferConfig<S>, DepsOf<D, O>>>
}

/**
 * A defined plugin; `Service` is carried for typed dependents and `app.service(plugin)`, `O` (its
 * optional dependencies and their ports) for the type-level port check.
 */
export interface Plugin<S extends ConfigShape = any, Service = unknown, O extends OptionalRefs = OptionalRefs> {
  readonly name: string
  readonly dependsOn?: PluginRefs
  readonly optionalDependsOn?: O
  readonly tag?: { name: string; description?: string }
  readonly config?: S
  readonly migrations?: URL | string
  readonly uploadPaths?: readonly string[]
  readonly doctor?: DoctorHook<any>
  readonly setup?: (
    ctx: PluginContext<any, any>,
  ) => PluginInstance<Service, any, any> | Promise<PluginInstance<Service, any, any>>
  /** Type-only: never set at runtime. */
  readonly __service?: Service
}

export type AnyPlugin = Plugin<any, any, OptionalRefs>

/** Names of the plugins a plugin depends on (required and optional), for the boot order. */
export function dependencyNames(plugin: AnyPlugin): { required: string[]; optional: string[] } {
  return {
    required: Object.values(plugin.dependsOn ?? {}).map((p) => p.name),
    optional: Object.values(plugin.optionalDependsOn ?? {}).map((p) => p.name),
  }
}

/** Checks the name and keeps every type flowing from config and dependencies into setup. */
export function definePlugin<
  S extends ConfigShape = {},
  D extends PluginRefs = {},
  O extends OptionalRefs = {},
  Service = undefined,
>(plugin: PluginDefinition<S, D, O, Service>): Plugin<S, Service, O> {
  if (!/^[a-z][a-z0-9-]*$/.test(plugin.name)) throw new Error(`plugin name "${plugin.name}" must be kebab-case`)
  for (const [key, dep] of Object.entries(plugin.dependsOn ?? {})) {
    if (!dep || typeof dep.name !== 'string') {
      throw new Error(`plugin "${plugin.name}": dependency "${key}" is not a plugin (check for a circular import)`)
    }
  }
  // An imported plugin object here would make the provider's files part of the dependent's code
  // (an app created without the provider would not run): optional dependencies go by name.
  for (const [key, dep] of Object.entries(plugin.optionalDependsOn ?? {})) {
    if ((dep as Partial<OptionalDependency> | undefined)?.optional !== true || typeof dep.name !== 'string') {
      throw new Error(
        `plugin "${plugin.name}": optional dependency "${key}" must be optional<Port>('<plugin name>'), not a plugin object`,
      )
    }
  }
  return plugin as unknown as Plugin<S, Service, O>
}

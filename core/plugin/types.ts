/** The plugin contract: what a plugin declares and what the core hands it (STYLE §8.2). */
import type { AnyElysia } from 'elysia'
import type { AuditLog, StatsRegistry } from '../audit/index.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import type { Principal, User } from '../auth/principal.ts'
import type { UserDirectory } from '../auth/user-directory.ts'
import type { ConfigShape, InferConfig } from '../config/env.ts'
import type { CoreConfig } from '../config/core-config.ts'
import type { Sql } from '../db/index.ts'
import type { EventBus, EventMap } from '../events/index.ts'
import type { ApiVersion } from '../http/versioning.ts'
import type { JobHandler, JobQueue } from '../jobs/index.ts'
import type { Logger } from '../observability/logger.ts'
import type { Meter, MeterFn } from '../observability/meter.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { RateRule } from '../rate-limit/index.ts'
import type { HealthChecks } from '../health/checks.ts'
import type { InboundPipeline } from '../inbound/index.ts'
import type { SocketEndpoint, SocketServer } from '../realtime/types.ts'
import type { ChannelRegistry } from './channels.ts'
import type { PublicRouterFactory, RouterFactory } from './router.ts'

/**
 * Services plugins provide to their dependents, by plugin name. A plugin adds its entry:
 *   declare module '../../core/index.ts' { interface PluginServices { users: UsersService } }
 */
// biome-ignore lint: empty on purpose, filled by declaration merging
export interface PluginServices {}

export type Zone = 'public' | 'app' | 'admin'

/** WebSocket channel `<kind>:<id>` authoriser (the websocket plugin asks the owner of a kind). */
export type ChannelAuthorizer = (input: { id: string; user: User; principal: Principal }) => boolean | Promise<boolean>

/** A rate-limit class a plugin adds (SPEC §6), matched by path prefix inside its zone. */
export interface RateLimitClassDefinition {
  /** Path under the zone, e.g. '/public/contact'. The most specific prefix wins. */
  path: string
  rule: RateRule
  methods?: readonly string[]
  /** Count per client IP even when authenticated (contact form). */
  perIp?: boolean
  message?: string
}

export interface PluginContext<C = unknown> {
  readonly name: string
  readonly config: C
  /** Core settings a plugin may read (public URL, data dir, limits). */
  readonly core: Readonly<Pick<CoreConfig, 'publicUrl' | 'dataDir' | 'maxUploadBytes' | 'maxJsonBytes' | 'nodeEnv' | 'corsOrigins'>> & { publicUrl: string }
  readonly sql: Sql
  readonly logger: Logger
  readonly events: EventBus
  readonly jobs: JobQueue
  readonly meter: MeterFn
  readonly metrics: Metrics
  readonly auth: Pick<Authenticator, 'addResolver'> & { users: UserDirectory }
  /** The `provides` result of a plugin named in dependsOn (typed through PluginServices). */
  use<K extends keyof PluginServices & string>(name: K): PluginServices[K]
  /** Rate-limit counters of a class (contact form status). */
  readonly rateLimits: {
    peek(className: string, key: string): Promise<{ limit: number; remaining: number; reset: number; window: string }>
  }
  /** Readiness checks: add a component that /health/ready reports. */
  readonly health: HealthChecks
  /** WebSocket channel authorisation across plugins (the websocket plugin asks here). */
  readonly channels: Pick<ChannelRegistry, 'authorize' | 'kinds'>
  /** Set by the core: the sink for meter() (the usage plugin). */
  readonly meterSink: Pick<Meter, 'setSink'>
  /** Append-only audit log: record(entry, tx) inside the transaction of the change. */
  readonly audit: AuditLog
  /** Admin dashboard sections this plugin contributes (absent plugins contribute nothing). */
  readonly stats: StatsRegistry
  /** Inbound events (webhooks) of every provider: register an applier per provider, then receive() verified events. */
  readonly inbound: InboundPipeline
}

export interface RouteContext<C = unknown, R = RouterFactory> extends PluginContext<C> {
  /** The version these routes are being built for: factories run once per mounted version. */
  readonly version: ApiVersion
  readonly router: R
}

type RouteFactory<C, R = RouterFactory> = (ctx: RouteContext<C, R>) => AnyElysia

export type EventHandlers<C> = {
  [K in keyof EventMap & string]?: (payload: EventMap[K], ctx: PluginContext<C>) => void | Promise<void>
}

export interface PluginDefinition<S extends ConfigShape = ConfigShape, P = unknown> {
  /** kebab-case; also the migration namespace and the log/metric label. */
  name: string
  dependsOn?: readonly string[]
  /** OpenAPI tag applied to every route of the plugin. */
  tag?: { name: string; description?: string }
  config?: S
  /** Folder of NNNN_snake_name.sql files. */
  migrations?: URL | string
  public?: RouteFactory<InferConfig<S>, PublicRouterFactory>
  app?: RouteFactory<InferConfig<S>>
  admin?: RouteFactory<InferConfig<S>>
  provides?: (ctx: PluginContext<InferConfig<S>>) => P
  on?: EventHandlers<InferConfig<S>>
  jobs?: Record<string, (ctx: PluginContext<InferConfig<S>>) => JobHandler>
  schedules?: readonly { job: string; cron: string; payload?: unknown }[]
  channels?: Record<string, (ctx: PluginContext<InferConfig<S>>) => ChannelAuthorizer>
  /**
   * A WebSocket endpoint at /api/{v}/app<path>: the upgrade runs through the pipeline (`?token=`
   * accepted), then the runtime serves the socket; `server.publish` fans out to local sockets.
   */
  websocket?: (ctx: PluginContext<InferConfig<S>>, server: SocketServer) => SocketEndpoint<any>
  rateLimits?: (config: InferConfig<S>) => Record<string, RateLimitClassDefinition>
  /**
   * Path prefixes after /api/{v} (e.g. '/public/files/') whose request bodies are file uploads:
   * bounded by MAX_UPLOAD_BYTES whatever their Content-Type (not MAX_JSON_BODY_BYTES for text/*
   * or JSON files); the route streams `request.body` itself (route option `parse: () => null`).
   */
  uploadPaths?: readonly string[]
  start?: (ctx: PluginContext<InferConfig<S>>) => void | Promise<void>
  stop?: (ctx: PluginContext<InferConfig<S>>) => void | Promise<void>
}

export type AnyPlugin = PluginDefinition<any, any>

/** Identity function that keeps the config type flowing into every callback. */
export function definePlugin<S extends ConfigShape = {}, P = unknown>(plugin: PluginDefinition<S, P>) {
  if (!/^[a-z][a-z0-9-]*$/.test(plugin.name)) throw new Error(`plugin name "${plugin.name}" must be kebab-case`)
  return plugin
}

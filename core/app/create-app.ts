/**
 * createApp(): resolve the plugin graph -> validate all config -> open and migrate the
 * database -> build core services -> mount routes -> start plugins. Nothing listens here:
 * runtime/bun.ts and runtime/deno.ts serve `app.handle`.
 */
import type { AnyElysia } from 'elysia'
import { createAuditLog, createStatsRegistry, type AuditLog } from '../audit/index.ts'
import { createAuthenticator, createTokenVerifier, createUserDirectory } from '../auth/index.ts'
import { processEnv, type CoreConfig, type EnvSource } from '../config/index.ts'
import { migrate, openDatabase, traceSql, type Database, type MigrationSource } from '../db/index.ts'
import { createEventBus, type EventBus } from '../events/index.ts'
import { AppError } from '../errors/index.ts'
import { createHealthChecks, healthPlugin, redisCheck } from '../health/index.ts'
import { createInboundPipeline, RETRY_JOB as INBOUND_RETRY_JOB, type InboundPipeline } from '../inbound/index.ts'
import {
  parseTrustedProxies,
  createCors,
  createIdempotency,
  securityHeaders,
  API_VERSIONS,
  versionHeaders,
} from '../http/index.ts'
import { createJobQueue, type JobQueue } from '../jobs/index.ts'
import {
  createLogger,
  type Logger,
  createMeter,
  createMetrics,
  type Metrics,
  createTracing,
  enrich,
  type Tracing,
} from '../observability/index.ts'
import { buildOpenApi, openApiRoutes } from '../openapi/index.ts'
import {
  bootOrder,
  createChannelRegistry,
  type AnyPlugin,
  type ChannelRegistry,
  type PluginContext,
  type PluginInstance,
  type ServiceOf,
} from '../plugin/index.ts'
import { createLimiter, type Limiter, createMemoryStore, createRedisStore } from '../rate-limit/index.ts'
import { createSocketRouter, type SocketRouter } from '../realtime/index.ts'
import { loadConfig } from './config.ts'
import { mountPlugins } from './mount.ts'
import { createPipeline, type Peer } from './pipeline.ts'

export const CORE_MIGRATIONS: MigrationSource = {
  namespace: 'core',
  dir: new URL('../db/migrations/', import.meta.url),
}

export interface CreateAppOptions {
  plugins?: readonly AnyPlugin[]
  /** Environment to read; defaults to the process environment. */
  env?: EnvSource
  /** An already open database (tests); otherwise DATABASE_URL or embedded PGlite. */
  database?: Database
  /** Start job workers and schedules (default true). */
  workers?: boolean
  logger?: Logger
  /** Tracing override (tests use the in-memory exporter). */
  tracing?: Tracing
}

export interface App {
  readonly elysia: AnyElysia
  /**
   * Serve one request; `peer` is the socket's remote address or a function reading it (the
   * runtime adapter passes it). Answers synchronously when nothing needed awaiting.
   */
  serve(request: Request, peer?: Peer): Response | Promise<Response>
  /** Like serve(), always as a promise. */
  handle(request: Request, peer?: Peer): Promise<Response>
  /** Web-standard fetch (no peer address): Deno's `export default { fetch }`, tests. */
  fetch(request: Request): Promise<Response>
  readonly config: CoreConfig & { publicUrl: string }
  readonly db: Database
  readonly logger: Logger
  readonly events: EventBus
  readonly jobs: JobQueue
  readonly metrics: Metrics
  readonly limiter: Limiter
  readonly channels: ChannelRegistry
  /** WebSocket endpoints of plugins: the runtime adapters route upgrades here (core/realtime). */
  readonly sockets: SocketRouter
  /** The audit log (docs/auth.md#audit-log): admin actions, impersonation, API keys. */
  readonly audit: AuditLog
  /** Inbound events (webhooks) of every provider. */
  readonly inbound: InboundPipeline
  readonly plugins: readonly AnyPlugin[]
  /** The service an installed plugin's setup returned (typed by the plugin). */
  service<P extends AnyPlugin>(plugin: P): ServiceOf<P>
  openapi(): Record<string, unknown>
  /** Shutdown has begun: readiness turns 503 at once, so load balancers stop sending (docs/deployment.md). */
  drain(): void
  /**
   * The listener stops accepting: every plugin's `drain` hook (reverse boot order) ends its
   * long-lived responses so in-flight requests can finish (docs/deployment.md#shutdown). Once;
   * a failing hook is logged and the others still run.
   */
  drainPlugins(): Promise<void>
  /** Stop plugins (reverse order), workers, buses and the database. Idempotent. */
  stop(): Promise<void>
}

export async function createApp(options: CreateAppOptions = {}): Promise<App> {
  const plugins = bootOrder([healthPlugin, ...(options.plugins ?? [])])
  const source = options.env ?? processEnv()
  const { core, plugin: pluginConfig } = loadConfig(plugins, source)
  const logger = options.logger ?? createLogger({ level: core.logLevel, enrich })

  const db =
    options.database ??
    (await openDatabase({
      url: core.databaseUrl,
      dataDir: core.dataDir,
      max: core.databasePoolMax,
      connectTimeoutMs: core.databaseConnectTimeoutMs,
      statementTimeoutMs: core.databaseStatementTimeoutMs,
      logger,
    }))
  try {
    const sources = [
      CORE_MIGRATIONS,
      ...plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! })),
    ]
    await migrate(db.sql, sources, { logger })
  } catch (err) {
    if (!options.database) await db.close()
    throw err
  }

  const tracing =
    options.tracing ??
    createTracing({
      enabled: core.otelEnabled,
      exporter: core.otelExporter,
      otlpEndpoint: core.otlpEndpoint,
      zipkinEndpoint: core.zipkinEndpoint,
      serviceName: core.serviceName,
    })
  // With tracing off, services get postgres.js's own client: no wrapper on any query (docs/observability.md#child-spans).
  const sql = tracing.enabled ? traceSql(db.sql) : db.sql
  const events = createEventBus({
    redisUrl: core.redisUrl,
    logger,
    connectTimeoutMs: core.redisConnectTimeoutMs,
    commandTimeoutMs: core.redisCommandTimeoutMs,
    traced: tracing.enabled,
  })
  const jobs = createJobQueue({ sql, logger })
  const metrics = createMetrics()
  const meter = createMeter()
  const channels = createChannelRegistry()
  const health = createHealthChecks(logger.child({ component: 'health' }))
  health.add(
    'database',
    async () => {
      await sql`select 1`
    },
    { driver: db.kind },
  )
  // Readiness always lists the cache (docs/observability.md#readiness): Redis when configured,
  // else the in-process counters and bus, which are up whenever this process is.
  const cache = core.redisUrl ? redisCheck(core.redisUrl) : undefined
  health.add('cache', cache ? cache.check : async () => {}, { driver: cache ? 'redis' : 'memory' })
  const verifier = createTokenVerifier({
    jwtSecret: core.jwtSecret,
    jwksUrl: core.jwksUrl,
    issuer: core.jwtIssuer,
    audience: core.jwtAudience,
    requireExp: core.authRequireExp,
    clockSkewSeconds: core.authClockSkewSeconds,
  })
  const users = createUserDirectory({
    sql,
    adminEmails: core.adminEmails,
    superadminEmails: core.superadminEmails,
    onCreated: (user) => void events.publish('user.created', { user }),
  })
  // Role and activation changes made on any replica drop that user from every replica's cache.
  events.subscribe('user.changed', ({ id }) => users.invalidate(id))
  const authenticator = createAuthenticator(verifier, users)
  const audit = createAuditLog({ sql, logger })
  const stats = createStatsRegistry(logger)
  const idempotency = createIdempotency(sql, core.idempotencyTtlHours)
  const inbound = createInboundPipeline({ sql, jobs, logger: logger.child({ component: 'inbound' }) })

  const configs = new Map(plugins.map((p) => [p.name, pluginConfig.get(p.name)]))
  // Bound below, once every plugin's rate-limit classes are known; only peek() reads it, at request time.
  let limiter: Limiter
  const rateLimits: PluginContext['rateLimits'] = {
    async peek(className, key) {
      const r = await limiter.peek(className, key)
      const cls = limiter.classes().find((c) => c.name === className)!
      return { limit: r.limit, remaining: r.remaining, reset: r.reset, window: cls.rule.text }
    },
  }

  // setup() runs once per plugin, dependencies first (docs/architecture.md#plugin-graph); each
  // plugin's context carries the services of the plugins it declared, under its own keys.
  const instances = new Map<string, PluginInstance<unknown, any, any>>()
  const contexts = new Map<string, PluginContext<any, any>>()
  const serviceByName = (name: string) => instances.get(name)?.service
  for (const p of plugins) {
    const deps: Record<string, unknown> = {}
    for (const [key, dep] of Object.entries(p.dependsOn ?? {})) deps[key] = serviceByName(dep.name)
    for (const [key, dep] of Object.entries(p.optionalDependsOn ?? {})) deps[key] = serviceByName(dep.name)
    const ctx: PluginContext<any, any> = {
      name: p.name,
      config: configs.get(p.name),
      deps: Object.freeze(deps),
      core,
      sql,
      logger: logger.child({ plugin: p.name }),
      events,
      jobs,
      meter: meter.meter,
      metrics,
      auth: {
        addResolver: authenticator.addResolver,
        setOrganizationResolver: authenticator.setOrganizationResolver,
        reserveSubjects: authenticator.reserveSubjects,
        reservedSubjects: authenticator.reservedSubjects,
        users,
      },
      channels,
      health,
      audit,
      stats,
      inbound,
      rateLimits,
    }
    contexts.set(p.name, ctx)
    const instance = (await p.setup?.(ctx)) ?? {}
    instances.set(p.name, instance)
    for (const [kind, authorize] of Object.entries(instance.channels ?? {})) channels.register(kind, p.name, authorize)
    for (const [name, handler] of Object.entries(instance.jobs ?? {})) jobs.register(name, handler)
    for (const s of instance.schedules ?? []) jobs.schedule(s.job, s.cron, s.payload)
    for (const [name, handler] of Object.entries(instance.on ?? {})) {
      events.subscribe(name, handler as (payload: unknown) => void)
    }
    if (instance.meterSink) meter.setSink(instance.meterSink)
  }

  const store = core.redisUrl
    ? createRedisStore({
        url: core.redisUrl,
        logger,
        connectTimeoutMs: core.redisConnectTimeoutMs,
        commandTimeoutMs: core.redisCommandTimeoutMs,
        traced: tracing.enabled,
      })
    : createMemoryStore()
  const classes = [
    { name: 'ai', prefix: '/app/ai', rule: core.rateAi },
    { name: 'auth', prefix: '/public/auth', rule: core.rateAuth },
    ...plugins.flatMap((p) =>
      Object.entries(instances.get(p.name)!.rateLimits ?? {}).map(([name, c]) => ({ name, prefix: c.path, ...c })),
    ),
  ]
  limiter = createLimiter(store, core.rateDefault, classes)

  // A delivery whose effect failed: stored as failed, retried with backoff until applied (or dead).
  jobs.register(INBOUND_RETRY_JOB, async (payload) => {
    try {
      await inbound.retry((payload as { id: string }).id)
    } catch (err) {
      // Applied meanwhile (a redelivery won): nothing left to do.
      if (err instanceof AppError && err.errorCode === 'CONFLICT') return
      throw err
    }
  })
  // Counted once for every provider, and only when one is installed.
  if (inbound.providers().length) stats.contribute('webhooks', () => inbound.stats())
  jobs.register('core.purge-idempotency-keys', async () => {
    await idempotency.purgeExpired()
  })
  jobs.schedule('core.purge-idempotency-keys', '17 * * * *')

  const production = core.nodeEnv === 'production'
  const security = securityHeaders(production)
  const perVersion = versionHeaders(core.deprecatedVersions, core.deprecations)
  for (const v of API_VERSIONS) Object.assign(perVersion[v], security)
  const pipeline = createPipeline({
    logger,
    cors: createCors(core.corsOrigins),
    baseHeaders: perVersion,
    plainHeaders: security,
    idempotency,
    metrics,
    audit,
    authenticator,
    limiter,
    trusted: parseTrustedProxies(core.trustedProxies),
    meter: meter.meter,
    tracing,
    defaultVersion: core.defaultVersion,
    maxJsonBytes: core.maxJsonBytes,
    maxJsonDepth: core.maxJsonDepth,
    maxUrlBytes: core.maxUrlBytes,
    maxHeaderBytes: core.maxHeaderBytes,
    maxUploadBytes: core.maxUploadBytes,
    uploadPaths: plugins.flatMap((p) => p.uploadPaths ?? []),
  })
  const root = pipeline.elysia
  const mounted = plugins.map((p) => ({ plugin: p, context: contexts.get(p.name)!, instance: instances.get(p.name)! }))
  const owners = mountPlugins(root, mounted)
  const sockets = createSocketRouter({ handle: (request, peer) => app.handle(request, peer), logger })
  for (const { plugin, instance } of mounted) {
    if (instance.websocket) sockets.mount(root, owners, plugin, instance.websocket(sockets))
  }
  let spec: Record<string, unknown> | undefined
  const openapi = () =>
    (spec ??= buildOpenApi(root, owners, plugins, core.publicUrl, {
      organizations: authenticator.organizations() !== undefined,
    }))
  root.use(openApiRoutes(openapi))

  const handle = pipeline.handle

  for (const p of plugins) await instances.get(p.name)!.start?.()
  if (options.workers !== false) jobs.start()

  let drained: Promise<void> | undefined
  let stopped: Promise<void> | undefined
  const app: App = {
    elysia: root,
    serve: handle,
    handle: (request, peer) => Promise.resolve(handle(request, peer)),
    fetch: (request) => app.handle(request),
    config: core,
    db,
    logger,
    events,
    jobs,
    metrics,
    limiter,
    channels,
    sockets,
    audit,
    inbound,
    plugins,
    service: (plugin) => {
      if (!instances.has(plugin.name)) throw new Error(`Plugin "${plugin.name}" is not installed in this app`)
      return instances.get(plugin.name)!.service as never
    },
    openapi,
    drain: () => health.drain(),
    drainPlugins() {
      drained ??= (async () => {
        for (const p of [...plugins].reverse()) {
          try {
            await instances.get(p.name)!.drain?.()
          } catch (err) {
            logger.error('plugin drain failed', { plugin: p.name, error: err })
          }
        }
      })()
      return drained
    },
    stop() {
      stopped ??= (async () => {
        await jobs.stop()
        for (const p of [...plugins].reverse()) {
          try {
            await instances.get(p.name)!.stop?.()
          } catch (err) {
            logger.error('plugin stop failed', { plugin: p.name, error: err })
          }
        }
        await meter.flush()
        await audit.flush()
        await events.close()
        await limiter.close()
        await cache?.close()
        await tracing.shutdown()
        if (!options.database) await db.close()
      })()
      return stopped
    },
  }
  return app
}

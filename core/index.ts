/**
 * @module OmniStack core: the only import path for plugins and starters.
 * createApp / definePlugin, env readers, errors, pagination, auth types, and the service types
 * a plugin receives in its context.
 */
export { createApp, CORE_MIGRATIONS, type App, type CreateAppOptions } from './app/index.ts'
export { serve, serveDeno, type RunningServer, type ServeOptions } from './runtime/index.ts'
export { definePlugin, doctor, type DoctorCheck, type DoctorContext, type DoctorHook } from './plugin/index.ts'
export { optional, portMismatches, type OptionalDependency, type PortProviders } from './plugin/index.ts'
export type {
  AnyPlugin,
  ChannelAuthorizer,
  ChannelDecision,
  DepsOf,
  EventHandlers,
  Plugin,
  PluginContext,
  PluginDefinition,
  PluginInstance,
  PluginRefs,
  PublicRouteContext,
  PublicRouterFactory,
  RateLimitClassDefinition,
  RouterFactory,
  RouteContext,
  ServiceOf,
  Zone,
} from './plugin/index.ts'
export type { RealtimeSocket, SocketAcceptInput, SocketEndpoint, SocketLimits, SocketServer } from './realtime/index.ts'
export { env, ConfigError, type EnvReader, type InferConfig } from './config/index.ts'
export * from './errors/index.ts'
export { page, pageQuery, type Page, type PageQuery } from './http/index.ts'
export { envelope } from './http/index.ts'
export { jsonDoc, NOT_ENVELOPED, type ResponseDoc } from './openapi/index.ts'
export { replayAs, tracedFetch } from './http/index.ts'
export { hasScope, isAdmin, isStaff, QUERY_TOKEN, ROLES, type Principal, type Role, type User } from './auth/index.ts'
export type { CredentialResolver } from './auth/index.ts'
export { createApiKeyKit, hashApiKey, keysNeedSession, type ApiKeyTimings } from './auth/index.ts'
export {
  mergeStats,
  type AuditEntry,
  type AuditInput,
  type AuditLog,
  type AuditQuery,
  type AuditRequest,
  type Queryable,
  type StatsContributor,
  type StatsRegistry,
  type StatsSection,
} from './audit/index.ts'
export type { Sql } from './db/index.ts'
export { paged, isUuid, COUNT_CAP, type Paged, type PagedQuery, type PagedSpec, type SqlFragment } from './db/index.ts'
export { decodeCursor, encodeCursor } from './db/index.ts'
export type { PageInfo, Pagination } from './http/index.ts'
export type { EventBus, EventMap, EventMeta } from './events/index.ts'
export type { JobHandler, JobQueue } from './jobs/index.ts'
export type { Logger } from './observability/index.ts'
export { clientSpan } from './observability/index.ts'
export {
  shape,
  INBOUND_STATUSES,
  RETRY_JOB as INBOUND_RETRY_JOB,
  maskSecrets,
  type Applier as InboundApplier,
  type InboundEvent,
  type InboundPipeline,
  type InboundQuery,
  type InboundStatus,
  type Outcome as InboundOutcome,
  type Preparer as InboundPreparer,
  type ReceiveResult as InboundReceiveResult,
  type StoredEvent as StoredInboundEvent,
  type Tx as InboundTx,
} from './inbound/index.ts'
export { parseRate, type RateRule } from './rate-limit/index.ts'
export type { MeterEvent, MeterFn, MeterSink } from './observability/index.ts'
export { t } from 'elysia'

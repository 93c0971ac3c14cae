/** The core's own environment variables (docs/configuration.md#core-variables). Plugins declare theirs in definePlugin. */
import { parseRate } from '../rate-limit/index.ts'
import { env, type InferConfig } from './env.ts'

const rate = (name: string, fallback: string, description: string) =>
  env.custom(name, 'N/second|minute|hour|day', parseRate, {
    default: parseRate(fallback),
    description,
    show: (r) => r.text,
  })

export const coreConfigShape = {
  port: env.int('PORT', { default: 8000, min: 0, max: 65535, description: 'listen port' }),
  host: env.string<string>('HOST', { default: '0.0.0.0', description: 'listen address' }),
  publicUrl: env.url('PUBLIC_URL', {
    protocols: ['http', 'https'],
    description: 'base of URLs the server hands out (default http://localhost:$PORT)',
  }),
  dataDir: env.string<string>('DATA_DIR', { default: './.data', description: 'embedded database and local files' }),
  databaseUrl: env.url('DATABASE_URL', {
    protocols: ['postgres', 'postgresql'],
    description: 'PostgreSQL connection string; unset = embedded PGlite in DATA_DIR',
  }),
  databasePoolMax: env.int('DATABASE_POOL_MAX', {
    default: 10,
    min: 1,
    max: 500,
    description: 'connections per replica to DATABASE_URL',
  }),
  databaseConnectTimeoutMs: env.int('DATABASE_CONNECT_TIMEOUT_MS', {
    default: 2000,
    min: 100,
    max: 60_000,
    description: 'a connection attempt to DATABASE_URL gives up after this; requests then answer 503',
  }),
  databaseStatementTimeoutMs: env.int('DATABASE_STATEMENT_TIMEOUT_MS', {
    default: 30_000,
    min: 0,
    max: 3_600_000,
    description: 'PostgreSQL cancels a statement running longer (0 = never); the request answers 503',
  }),
  redisConnectTimeoutMs: env.int('REDIS_CONNECT_TIMEOUT_MS', {
    default: 2000,
    min: 100,
    max: 60_000,
    description:
      'a connection attempt to REDIS_URL gives up after this (limits then count in-process, events stay local)',
  }),
  redisCommandTimeoutMs: env.int('REDIS_COMMAND_TIMEOUT_MS', {
    default: 500,
    min: 50,
    max: 60_000,
    description: 'a Redis command (rate-limit hit, event publish) gives up after this and falls back',
  }),
  redisUrl: env.url('REDIS_URL', {
    protocols: ['redis', 'rediss'],
    description: 'shared rate limits and cross-replica events; unset = in-process',
  }),
  nodeEnv: env.string<string>('NODE_ENV', { default: 'development', description: 'production turns on HSTS' }),

  jwtSecret: env.secret('AUTH_JWT_SECRET', { description: 'HS256 secret (Supabase legacy)' }),
  jwksUrl: env.url('AUTH_JWKS_URL', {
    protocols: ['http', 'https'],
    description: 'JWKS for RS256/ES256 (Supabase, Clerk, custom OAuth)',
  }),
  jwtIssuer: env.string('AUTH_JWT_ISSUER', { description: 'checked when set' }),
  jwtAudience: env.string('AUTH_JWT_AUDIENCE', { description: 'checked when set' }),
  authRequireExp: env.bool('AUTH_REQUIRE_EXP', {
    default: true,
    description: 'refuse tokens without an `exp` claim (never-expiring tokens)',
  }),
  authClockSkewSeconds: env.int('AUTH_CLOCK_SKEW_SECONDS', {
    default: 60,
    min: 0,
    max: 3600,
    description: "how far in the future a token's `iat` / `nbf` may be (clock skew between issuer and server)",
  }),
  adminEmails: env.list('ADMIN_EMAILS', { description: 'users provisioned with these emails become admin' }),
  superadminEmails: env.list('SUPERADMIN_EMAILS', {
    description: 'users provisioned with these emails become superadmin',
  }),

  corsOrigins: env.list('CORS_ORIGINS', { description: 'allowed cross-origin origins; unset = none' }),
  trustedProxies: env.string('TRUSTED_PROXIES', {
    description: 'CIDRs whose X-Forwarded-For is believed; unset = none',
  }),

  defaultVersion: env.oneOf('API_DEFAULT_VERSION', ['v1', 'v2'] as const, {
    default: 'v1',
    description: 'version of unversioned /api requests without a version header',
  }),
  deprecatedVersions: env.list('API_DEPRECATED_VERSIONS', {
    description: 'e.g. v1; see API_DEPRECATION_<V> and API_SUNSET_<V>',
  }),

  rateDefault: rate('RATE_LIMIT_DEFAULT', '60/minute', 'default class'),
  rateAi: rate('RATE_LIMIT_AI', '10/minute', '/app/ai/*'),
  rateAuth: rate('RATE_LIMIT_AUTH', '5/minute', '/public/auth/*'),

  maxJsonBytes: env.int('MAX_JSON_BODY_BYTES', {
    default: 1_048_576,
    min: 1024,
    description: 'largest JSON or form body accepted (413 above)',
  }),
  maxJsonDepth: env.int('MAX_JSON_DEPTH', {
    default: 64,
    min: 1,
    max: 10_000,
    description: 'deepest nesting of objects and arrays a JSON body may have (400 above, checked before validation)',
  }),
  maxUrlBytes: env.int('MAX_URL_BYTES', {
    default: 8192,
    min: 256,
    max: 1_048_576,
    description: 'longest request URL (path and query) accepted (414 above)',
  }),
  maxHeaderBytes: env.int('MAX_HEADER_BYTES', {
    default: 32_768,
    min: 1024,
    max: 1_048_576,
    description:
      "largest total size of request header names and values accepted (431 above; keep Bun's --max-http-header-size above it)",
  }),
  maxUploadBytes: env.int('MAX_UPLOAD_BYTES', { default: 52_428_800, min: 1, description: 'largest file upload' }),
  idempotencyTtlHours: env.int('IDEMPOTENCY_TTL_HOURS', {
    default: 24,
    min: 1,
    description: 'how long an Idempotency-Key response is replayed',
  }),

  logLevel: env.oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, {
    default: 'info',
    description: 'JSON logs to stdout',
  }),
  otelEnabled: env.bool('OTEL_ENABLED', { default: false, description: 'export traces' }),
  otelExporter: env.oneOf('OTEL_EXPORTER', ['otlp', 'zipkin', 'console'] as const, {
    default: 'otlp',
    description: 'trace exporter',
  }),
  otlpEndpoint: env.url('OTEL_EXPORTER_OTLP_ENDPOINT', {
    description: 'OTLP/HTTP traces endpoint (default http://localhost:4318/v1/traces)',
  }),
  zipkinEndpoint: env.url('OTEL_EXPORTER_ZIPKIN_ENDPOINT', {
    description: 'Zipkin endpoint (default http://localhost:9411/api/v2/spans)',
  }),
  serviceName: env.string<string>('OTEL_SERVICE_NAME', { default: 'omnistack', description: 'service name on spans' }),
  shutdownTimeoutMs: env.int('SHUTDOWN_TIMEOUT_MS', {
    default: 10_000,
    min: 0,
    description: 'how long SIGTERM waits for in-flight requests',
  }),
  shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', {
    min: 0,
    max: 600_000,
    description:
      'after SIGTERM, keep accepting this long with readiness 503 so a load balancer stops sending (unset = 5000 with NODE_ENV=production, else 0)',
  }),
}

export type CoreConfig = InferConfig<typeof coreConfigShape> & {
  /** API_DEPRECATION_<V> / API_SUNSET_<V>, read per deprecated version. */
  deprecations: Record<string, { deprecation?: Date; sunset?: Date }>
}

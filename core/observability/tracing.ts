/** Request spans on the OpenTelemetry SDK, W3C Trace Context in and out (docs/observability.md#tracing). */
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ExportResultCode, parseTraceParent, W3CTraceContextPropagator } from '@opentelemetry/core'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions'
import { withTracer } from './spans.ts'

export type { InMemorySpanExporter }

export interface TracingOptions {
  /** OTEL_ENABLED. */
  enabled: boolean
  /** OTEL_EXPORTER; 'memory' keeps spans in `memoryExporter` (tests). @default 'otlp' */
  exporter?: 'otlp' | 'zipkin' | 'console' | 'memory'
  /**
   * OTLP/HTTP endpoint; a bare origin gets `/v1/traces`, as OTEL_EXPORTER_OTLP_ENDPOINT does elsewhere.
   * @default 'http://localhost:4318/v1/traces'
   */
  otlpEndpoint?: string
  /** @default 'http://localhost:9411/api/v2/spans' */
  zipkinEndpoint?: string
  /** @default 'omnistack' */
  serviceName?: string
}

export interface RequestSpan {
  readonly traceId: string
  readonly spanId: string
  /** True when the trace is recorded or continues a caller's traceparent: worth a traceresponse header. */
  readonly propagated: boolean
  /** The route template once routing is done: the span is renamed `METHOD route`. */
  setRoute(route: string): void
  setAttribute(k: string, v: string | number | boolean): void
  /** Ends the span once; 5xx marks it ERROR and records `error`. */
  end(status: number, error?: unknown): void
  /** W3C traceresponse-style header value: 00-<traceid>-<spanid>-<flags> */
  traceresponse(): string
  /**
   * Runs fn with this span's context active (survives awaits), so `enrich()` and child spans see
   * it: the context also carries the app's tracer, which the database, Redis and fetch spans use.
   */
  run<T>(fn: () => T): T
}

export interface Tracing {
  /**
   * OTEL_ENABLED. When false nothing is instrumented: the app hands out postgres.js and ioredis
   * clients as they are, with no wrapper (docs/observability.md#child-spans).
   */
  readonly enabled: boolean
  /**
   * Continues the caller's trace from `traceparent`/`tracestate`. When disabled nothing is recorded:
   * the span keeps the caller's trace id (or a random one) with a fresh random span id and flags 00.
   */
  startRequestSpan(method: string, path: string, headers: Headers): RequestSpan
  /** Set when exporter is 'memory'. */
  readonly memoryExporter?: InMemorySpanExporter
  /** Flushes pending spans (bounded to 5 s) and stops the exporter. Idempotent. */
  shutdown(): Promise<void>
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])
const propagator = new W3CTraceContextPropagator()
let contextManagerReady = false
let globalOwner: TracerProvider | undefined

/** `{trace_id, span_id}` of the active span: the logger's `enrich` (docs/observability.md#tracing). */
export function enrich(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getActiveSpan()
  if (!span) return undefined
  const c = span.spanContext()
  return { trace_id: c.traceId, span_id: c.spanId }
}

export function createTracing(options: TracingOptions): Tracing {
  if (!options.enabled) return { enabled: false, startRequestSpan: idOnlySpan, shutdown: async () => {} }

  // run() needs an async-aware context manager; it is process-wide by nature, so it is registered once.
  if (!contextManagerReady) {
    contextManagerReady = true
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  }
  const serviceName = options.serviceName ?? 'omnistack'
  const memoryExporter = options.exporter === 'memory' ? new InMemorySpanExporter() : undefined
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName })),
    spanProcessors: [processorFor(options, serviceName, memoryExporter)],
  })
  // The first live provider also serves `trace.getTracer()` to plugin code; each app uses its own.
  if (!globalOwner && trace.setGlobalTracerProvider(provider)) globalOwner = provider
  const tracer = provider.getTracer('omnistack')

  let stopped: Promise<void> | undefined
  return {
    enabled: true,
    memoryExporter,
    startRequestSpan(method, path, headers) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter)
      const m = METHODS.has(method) ? method : '_OTHER'
      const attributes: Record<string, string> = { [ATTR_HTTP_REQUEST_METHOD]: m, [ATTR_URL_PATH]: path }
      const agent = headers.get('user-agent')
      if (agent) attributes[ATTR_USER_AGENT_ORIGINAL] = agent
      // Named after the method until the route template is known (semconv: never the raw path).
      const name = m === '_OTHER' ? 'HTTP' : m
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent)
      return sdkSpan(span, m, withTracer(trace.setSpan(parent, span), tracer))
    },
    shutdown() {
      stopped ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined
        const limit = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 5000)
        })
        await Promise.race([provider.shutdown().catch(() => {}), limit])
        clearTimeout(timer)
        if (globalOwner === provider) {
          trace.disable()
          globalOwner = undefined
        }
      })()
      return stopped
    },
  }
}

function sdkSpan(span: Span, method: string, active: Context): RequestSpan {
  const c = span.spanContext()
  let ended = false
  return {
    traceId: c.traceId,
    spanId: c.spanId,
    setRoute(route) {
      if (route === 'unmatched' || route === '') return
      span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${route}`)
      span.setAttribute(ATTR_HTTP_ROUTE, route)
    },
    setAttribute: (k, v) => void span.setAttribute(k, v),
    end(status, error) {
      if (ended) return
      ended = true
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      // Semconv for server spans: only 5xx is an error, a 4xx is the client's.
      if (status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : String(status))
        if (error !== undefined) span.recordException(error instanceof Error ? error : String(error))
      }
      span.end()
    },
    propagated: true,
    traceresponse: () => `00-${c.traceId}-${c.spanId}-${hexByte(c.traceFlags)}`,
    run: (fn) => context.with(active, fn),
  }
}

/**
 * Disabled tracing: no SDK, no context; ids only so logs and traceresponse still correlate.
 * Ids are drawn on first use: a request that logs nothing and carried no traceparent never
 * pays for them. A class, so the per-request object is a plain allocation (its getters live
 * on the prototype).
 */
class IdOnlySpan implements RequestSpan {
  private trace: string
  private span = ''
  readonly propagated: boolean

  constructor(parentTraceId: string | undefined) {
    this.trace = parentTraceId ?? ''
    this.propagated = parentTraceId !== undefined
  }

  get traceId() {
    return (this.trace ||= randomHex(16))
  }

  get spanId() {
    return (this.span ||= randomHex(8))
  }

  setRoute() {}
  setAttribute() {}
  end() {}

  // Flags 00: this hop did not record the trace.
  traceresponse() {
    return `00-${this.traceId}-${this.spanId}-00`
  }

  run<T>(fn: () => T): T {
    return fn()
  }
}

function idOnlySpan(_method: string, _path: string, headers: Headers): RequestSpan {
  const header = headers.get('traceparent')
  return new IdOnlySpan(header ? parseTraceParent(header)?.traceId : undefined)
}

function processorFor(o: TracingOptions, service: string, memory?: InMemorySpanExporter): SpanProcessor {
  if (memory) return new SimpleSpanProcessor({ exporter: memory })
  if (o.exporter === 'console') return new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() })
  const exporter =
    o.exporter === 'zipkin'
      ? lazyExporter(async () => {
          const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin')
          const url = o.zipkinEndpoint ?? 'http://localhost:9411/api/v2/spans'
          return new ZipkinExporter({ url, serviceName: service })
        })
      : lazyExporter(async () => {
          const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
          return new OTLPTraceExporter({ url: otlpTracesUrl(o.otlpEndpoint) })
        })
  return new BatchSpanProcessor({ exporter, exportTimeoutMillis: 10_000 })
}

/** OTEL_EXPORTER_OTLP_ENDPOINT is a base URL by the OTel convention: a bare origin gets `/v1/traces`. */
export function otlpTracesUrl(endpoint?: string): string {
  if (!endpoint) return 'http://localhost:4318/v1/traces'
  const url = new URL(endpoint)
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces'
  return url.toString()
}

/** The network exporters (~40-50 ms of imports each) load with the first batch, not at start. */
function lazyExporter(load: () => Promise<SpanExporter>): SpanExporter {
  let loaded: Promise<SpanExporter> | undefined
  const get = () => (loaded ??= load())
  return {
    export(spans, done) {
      get()
        .then((e) => e.export(spans, done))
        .catch((error) => done({ code: ExportResultCode.FAILED, error }))
    },
    shutdown: () => (loaded ? loaded.then((e) => e.shutdown()) : Promise.resolve()),
    forceFlush: () => (loaded ? loaded.then((e) => e.forceFlush?.()) : Promise.resolve()),
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const hexByte = (n: number) => HEX[n & 0xff]!

// One getRandomValues call per 512 ids keeps the disabled path at a few hundred nanoseconds.
const pool = new Uint8Array(4096)
let poolAt = pool.length

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    crypto.getRandomValues(pool)
    poolAt = 0
  }
  let out = ''
  for (let i = 0; i < bytes; i++) out += HEX[pool[poolAt++]!]
  return out
}

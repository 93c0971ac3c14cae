/**
 * Child spans of the request span: the database, Redis and outbound HTTP (docs/observability.md#child-spans).
 *
 * A request span's `run()` puts its app's tracer into the active context beside the span, so
 * instrumented clients need no handle on the app: they start a CLIENT span when a traced request
 * is active, and nothing otherwise (outside a request, or when tracing is off: then the context
 * manager is OpenTelemetry's no-op one and `context.active()` is the empty root context).
 */
import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions'

const TRACER = createContextKey('omnistack.tracer')

/** `ctx` carrying the tracer child spans are made with (tracing.ts, RequestSpan.run). */
export const withTracer = (ctx: Context, tracer: Tracer): Context => ctx.setValue(TRACER, tracer)

/** True while a traced request is active: the cheap test before building a span's attributes. */
export const tracedRequestActive = (): boolean => context.active().getValue(TRACER) !== undefined

/**
 * A CLIENT span, child of the active span, or undefined when no traced request is active.
 * The caller ends it (`endSpan`).
 */
export function startClientSpan(name: string, attributes: Attributes): Span | undefined {
  const active = context.active()
  const tracer = active.getValue(TRACER) as Tracer | undefined
  return tracer?.startSpan(name, { kind: SpanKind.CLIENT, attributes }, active)
}

/**
 * Ends a span; with an error, marks it ERROR with `error.type` only. The error's message is
 * never recorded: a driver's message may quote a value ("invalid input syntax for type uuid: …").
 */
export function endSpan(span: Span, error?: unknown, errorType?: string): void {
  if (error !== undefined || errorType !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR })
    span.setAttribute(ATTR_ERROR_TYPE, errorType ?? errorTypeOf(error))
  }
  span.end()
}

/** A low-cardinality name for an error: its `code` when it has a string one, else its class name. */
export function errorTypeOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code) return code
    const name = (error as { name?: unknown }).name
    if (typeof name === 'string' && name) return name
  }
  return '_OTHER'
}

/**
 * Runs `fn` inside a CLIENT span named `name` when a traced request is active (an SMTP send, an
 * SDK call the core cannot instrument); otherwise just runs it. Attributes must never carry
 * secrets, personal data or payloads.
 */
export async function clientSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = startClientSpan(name, attributes)
  if (!span) return fn()
  try {
    const result = await context.with(trace.setSpan(context.active(), span), fn)
    endSpan(span)
    return result
  } catch (err) {
    endSpan(span, err)
    throw err
  }
}

/** Attributes of a host and port: `server.address`, `server.port` (port only when known). */
export function serverAttributes(host: string | undefined, port: number | string | undefined): Attributes {
  const out: Attributes = {}
  if (host) out[ATTR_SERVER_ADDRESS] = host
  const p = typeof port === 'string' ? Number(port) : port
  if (p && Number.isInteger(p)) out[ATTR_SERVER_PORT] = p
  return out
}

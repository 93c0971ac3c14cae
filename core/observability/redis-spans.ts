/**
 * CLIENT spans for the core's Redis connections (docs/observability.md#child-spans): one per
 * command sent during a traced request, named after the command. Never the keys or the values.
 */
import { ATTR_DB_NAMESPACE, ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '@opentelemetry/semantic-conventions'
import { endSpan, serverAttributes, startClientSpan } from './spans.ts'

// Not in the stable entry point yet; OpenTelemetry advises copying incubating values rather than importing them.
const DB_SYSTEM_NAME_VALUE_REDIS = 'redis'

/** What this needs of an ioredis client: every command (scripts and pub/sub too) passes `sendCommand`. */
export interface RedisCommandSender {
  sendCommand(command: { name: string; promise: Promise<unknown> }, ...rest: never[]): unknown
  readonly options: { host?: string; port?: number; db?: number; path?: string }
}

/**
 * Wraps the client's `sendCommand` (this instance only). Call it only when tracing is on: with
 * tracing off the client keeps ioredis's own method and nothing is added per command.
 */
export function traceRedis<C extends RedisCommandSender>(client: C): C {
  const send = client.sendCommand
  const o = client.options
  const base = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_REDIS,
    [ATTR_DB_NAMESPACE]: String(o.db ?? 0),
    ...(o.path ? {} : serverAttributes(o.host, o.port)),
  }
  client.sendCommand = function sendCommand(this: C, command, ...rest) {
    const operation = command.name.toUpperCase()
    const span = startClientSpan(operation, { ...base, [ATTR_DB_OPERATION_NAME]: operation })
    if (span) {
      command.promise.then(
        () => endSpan(span),
        (err) => endSpan(span, err, redisErrorType(err)),
      )
    }
    return send.call(this, command, ...rest)
  }
  return client
}

/** A Redis error reply starts with its prefix (`NOSCRIPT No matching script`): that prefix, else the class name. */
function redisErrorType(err: unknown): string {
  const e = err as { name?: string; message?: string }
  if (e?.name === 'ReplyError' && typeof e.message === 'string') {
    const prefix = /^[A-Z][A-Z_]*(?= |$)/.exec(e.message)?.[0]
    if (prefix) return prefix
  }
  return typeof e?.name === 'string' && e.name ? e.name : '_OTHER'
}

/**
 * CLIENT spans for postgres.js queries (docs/observability.md#child-spans), on PostgreSQL and on
 * the embedded PGlite alike (both are postgres.js clients). createApp wraps the client only when
 * tracing is on; with tracing off services get postgres.js's own `sql`, and no query pays anything.
 *
 * A span starts when postgres.js hands the query to a connection (a fragment such as
 * sql`owner_id = ${id}` inside another query is never sent, so gets none) and ends with its
 * result or error. Its text is the statement as sent, with `$1`-style placeholders: parameter
 * values are never read. A statement sent without parameters (`sql.unsafe`) has its literals
 * replaced by `?`. An error records only its SQLSTATE, never its message (it may quote a value).
 */
import { context, trace, type Attributes, type Span } from '@opentelemetry/api'
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions'
import { endSpan, errorTypeOf, serverAttributes, startClientSpan } from '../observability/index.ts'
import type { Sql } from './sql.ts'

/** The parts of postgres.js's Query this relies on (postgres 3.4: src/query.js, src/connection.js). */
interface PgQuery {
  /** Called once, when the query is executed; postgres.js never calls it for a fragment. */
  handler: PgHandler
  resolve(result: unknown): void
  reject(error: unknown): void
  /** The statement as sent; set by the connection when it builds the query. */
  string?: string
  parameters?: unknown[]
  [ORIGINAL]?: PgHandler
}
type PgHandler = ((q: PgQuery) => void) & { debug?: unknown }

const ORIGINAL = Symbol('omnistack.pg-handler')
const TX_NAME = 'transaction'

/** `sql` with a span per executed query (transactions, savepoints and reserved connections too). */
export function traceSql(sql: Sql): Sql {
  const options = sql.options as unknown as {
    host?: string[]
    port?: number[]
    path?: string | false
    database?: string
    debug?: unknown
  }
  const base: Attributes = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    ...(options.database ? { [ATTR_DB_NAMESPACE]: options.database } : {}),
    // The embedded database is reached over a unix socket: no server address to name.
    ...(options.path ? {} : serverAttributes(options.host?.[0], options.port?.[0])),
  }

  // One handler for every query of this client: the query's own (the pool's, a transaction's) is kept on it.
  const handle: PgHandler = (q) => {
    const original = q[ORIGINAL]!
    const span = startClientSpan(DB_SYSTEM_NAME_VALUE_POSTGRESQL, base)
    if (span) {
      const { resolve, reject } = q
      q.resolve = (result) => {
        finish(span, q, (result as { command?: string } | undefined)?.command)
        resolve(result)
      }
      q.reject = (error) => {
        finish(span, q, undefined, error)
        reject(error)
      }
    }
    original(q)
  }
  handle.debug = options.debug

  const instrument = <T>(result: T): T => {
    const q = result as unknown as PgQuery
    if (result instanceof Promise && typeof q.handler === 'function' && q[ORIGINAL] === undefined) {
      q[ORIGINAL] = q.handler
      q.handler = handle
    }
    return result
  }

  const wrap = <S extends object>(target: S): S => {
    const t = target as unknown as Record<string, (...args: any[]) => any>
    const overrides: Record<string, unknown> = {
      unsafe: (...args: unknown[]) => instrument(t.unsafe!(...args)),
      file: (...args: unknown[]) => instrument(t.file!(...args)),
      // The callback gets the transaction's `sql` wrapped, and runs under a span for the whole transaction.
      begin: (...args: unknown[]) => inSpan(TX_NAME, () => t.begin!(...wrapCallback(args))),
      reserve: async () => wrap(await t.reserve!()),
    }
    if (typeof t.savepoint === 'function') {
      overrides.savepoint = (...args: unknown[]) => t.savepoint!(...wrapCallback(args))
    }
    return new Proxy(target, {
      apply: (fn, self, args) => instrument(Reflect.apply(fn as (...a: unknown[]) => unknown, self, args)),
      get: (obj, key, receiver) =>
        typeof key === 'string' && key in overrides ? overrides[key] : Reflect.get(obj, key, receiver),
    })
  }
  /** `begin(fn)`, `begin(options, fn)`, `savepoint(fn)`, `savepoint(name, fn)`: the last argument is the callback. */
  const wrapCallback = (args: unknown[]) => {
    const last = args.length - 1
    const fn = args[last]
    if (typeof fn !== 'function') return args
    const copy = [...args]
    copy[last] = (tx: object) => fn(wrap(tx))
    return copy
  }
  const inSpan = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const span = startClientSpan(name, { ...base, [ATTR_DB_OPERATION_NAME]: 'TRANSACTION' })
    if (!span) return fn()
    return context.with(trace.setSpan(context.active(), span), fn).then(
      (result) => {
        endSpan(span)
        return result
      },
      (error) => {
        endSpan(span, error)
        throw error
      },
    )
  }

  return wrap(sql)
}

function finish(span: Span, q: PgQuery, command: string | undefined, error?: unknown): void {
  const text = q.string
  if (text) {
    const operation = command || firstKeyword(text)
    const collection = collectionOf(text)
    if (operation) {
      span.setAttribute(ATTR_DB_OPERATION_NAME, operation)
      span.updateName(collection ? `${operation} ${collection}` : operation)
    }
    if (collection) span.setAttribute(ATTR_DB_COLLECTION_NAME, collection)
    span.setAttribute(ATTR_DB_QUERY_TEXT, q.parameters?.length ? text : sanitize(text))
  }
  if (error === undefined) {
    endSpan(span)
    return
  }
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, code)
  endSpan(span, error, errorTypeOf(error))
}

/** The statement's first word in capitals (SELECT, INSERT, WITH...), after comments and parentheses. */
export function firstKeyword(text: string): string | undefined {
  return /^(?:\s|\(|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*([a-zA-Z]+)/.exec(text)?.[1]?.toUpperCase()
}

/** The first table a statement names (`from`, `into`, `update`, `join`), as written. */
export function collectionOf(text: string): string | undefined {
  return /\b(?:from|into|update|join)\s+((?:"[^"]+"|[a-zA-Z_][\w$]*)(?:\.(?:"[^"]+"|[a-zA-Z_][\w$]*))?)/i.exec(
    text,
  )?.[1]
}

/**
 * Literals of a statement sent without parameters become `?`: quoted strings (E'', '' escapes),
 * dollar-quoted strings and numbers. Identifiers, keywords and `$1` placeholders stay.
 */
export function sanitize(text: string): string {
  return text.replace(
    /\b[eE]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*'|\$([a-zA-Z_]\w*)?\$[\s\S]*?\$\1\$|(?<![\w$."])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g,
    '?',
  )
}

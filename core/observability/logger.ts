/** JSON-lines logger on stdout (docs/observability.md#logs). Secrets never go in `fields`. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line (plugin name, request id ...). */
  child(fields: LogFields): Logger
  readonly level: LogLevel
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface LoggerOptions {
  level?: LogLevel
  /** Where lines go; stdout by default. Tests pass an array collector. */
  write?: (line: string) => void
  /** Called per line to add context such as trace_id/span_id (observability/tracing). */
  enrich?: () => LogFields | undefined
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const level = options.level ?? 'info'
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const min = RANK[level]

  const emit = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return
    const line: LogFields = {
      timestamp: new Date().toISOString(),
      level: lvl.toUpperCase(),
      message,
      ...base,
      ...options.enrich?.(),
      ...fields,
    }
    write(JSON.stringify(line, errorReplacer))
  }

  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  }
}

/** Errors serialise to name, message and stack (the stack only ever goes to the log). */
function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} })

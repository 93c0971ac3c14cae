/** Env readers: typed, validated once at start, every failure reported (one line per variable). */

export type EnvSource = Record<string, string | undefined>

/** A declared variable: how to read it and what to tell the user about it. */
export interface EnvReader<T> {
  readonly name: string
  readonly description: string
  /** The default as a user would write it, for docs and `.env.example`. */
  readonly defaultText: string
  read(source: EnvSource): T
}

export type ConfigShape = Record<string, EnvReader<unknown>>
export type InferConfig<S extends ConfigShape> = { [K in keyof S]: S[K] extends EnvReader<infer T> ? T : never }

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

interface Common<T> {
  default?: T
  description?: string
}

function reader<T>(
  name: string,
  opts: Common<T> & { required?: boolean; secret?: boolean },
  expected: string,
  parse: (raw: string) => T | undefined,
  show: (value: T) => string = String,
): EnvReader<T> {
  return {
    name,
    description: opts.description ?? '',
    defaultText: opts.default === undefined ? '' : show(opts.default),
    read(source) {
      const raw = source[name]?.trim()
      if (raw === undefined || raw === '') {
        if (opts.default !== undefined) return opts.default
        if (opts.required) throw new Error(`${name} is required: expected ${expected}`)
        return undefined as T
      }
      const value = parse(raw)
      // A secret's value never reaches an error message (it ends up in logs).
      if (value === undefined)
        throw new Error(`Invalid ${name}: expected ${expected}${opts.secret ? '' : `, got "${raw}"`}`)
      return value
    },
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

export const env = {
  string: <T extends string | undefined = string | undefined>(
    name: string,
    opts: Common<string> & { required?: boolean } = {},
  ) => reader<T>(name, opts as Common<T>, 'a string', (raw) => raw as T),

  /** Like string, but never printed in logs or docs defaults. */
  secret: (name: string, opts: { description?: string; minLength?: number } = {}) =>
    reader<string | undefined>(
      name,
      { ...opts, secret: true },
      `a secret of at least ${opts.minLength ?? 1} characters`,
      (raw) => (raw.length >= (opts.minLength ?? 1) ? raw : undefined),
    ),

  int: (name: string, opts: Common<number> & { min?: number; max?: number } = {}) =>
    reader<number>(
      name,
      opts,
      `an integer${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}`,
      (raw) => {
        if (!/^-?\d+$/.test(raw)) return undefined
        const n = Number(raw)
        if (opts.min !== undefined && n < opts.min) return undefined
        if (opts.max !== undefined && n > opts.max) return undefined
        return n
      },
    ),

  bool: (name: string, opts: Common<boolean> = {}) =>
    reader<boolean>(name, opts, 'true or false', (raw) => {
      const v = raw.toLowerCase()
      return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined
    }),

  url: (name: string, opts: Common<string> & { protocols?: string[] } = {}) =>
    reader<string | undefined>(name, opts, `a URL${opts.protocols ? ` (${opts.protocols.join(', ')})` : ''}`, (raw) => {
      try {
        const u = new URL(raw)
        if (opts.protocols && !opts.protocols.includes(u.protocol.replace(/:$/, ''))) return undefined
        return raw
      } catch {
        return undefined
      }
    }),

  list: (name: string, opts: Common<string[]> = {}) =>
    reader<string[]>(
      name,
      { default: [], ...opts },
      'a comma-separated list',
      (raw) =>
        raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      (v) => v.join(','),
    ),

  oneOf: <const T extends string>(name: string, values: readonly T[], opts: Common<T> = {}) =>
    reader<T>(name, opts, `one of ${values.join(', ')}`, (raw) =>
      (values as readonly string[]).includes(raw) ? (raw as T) : undefined,
    ),

  /** A reader with custom parsing: `parse` throws or returns undefined for a bad value. */
  custom: <T>(
    name: string,
    expected: string,
    parse: (raw: string) => T,
    opts: Common<T> & { show?: (v: T) => string; secret?: boolean } = {},
  ) =>
    reader<T>(
      name,
      opts,
      expected,
      (raw) => {
        try {
          return parse(raw)
        } catch {
          return undefined
        }
      },
      opts.show,
    ),
}

/** Reads every variable of `shape`; collects all failures before throwing one ConfigError. */
export function parseConfig<S extends ConfigShape>(shape: S, source: EnvSource, problems: string[]): InferConfig<S> {
  const out: Record<string, unknown> = {}
  for (const [key, r] of Object.entries(shape)) {
    try {
      out[key] = r.read(source)
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  return out as InferConfig<S>
}

/** The process environment on Bun, Deno and Node alike. Only the core calls this. */
export function processEnv(): EnvSource {
  const g = globalThis as { Deno?: { env: { toObject(): EnvSource } }; process?: { env: EnvSource } }
  if (g.process?.env) return g.process.env
  if (g.Deno) return g.Deno.env.toObject()
  return {}
}

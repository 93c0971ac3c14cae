/**
 * JSON Schema clean-up for an OpenAPI 3.1 document, and example values drawn from a schema.
 * - Elysia's query coercion documents numbers as `anyOf [string format integer, integer]`: a
 *   client sends and receives numbers, so the number member alone is kept.
 * - OpenAPI 3.0's `nullable: true` becomes a `'null'` member of `type` (3.1 has no `nullable`).
 */

type Json = Record<string, any>

const NUMERIC_STRING = new Set(['integer', 'numeric', 'number'])
const isNumberMember = (s: unknown): s is Json =>
  !!s && typeof s === 'object' && ((s as Json).type === 'integer' || (s as Json).type === 'number')
const isNumericString = (s: unknown) =>
  !!s && typeof s === 'object' && (s as Json).type === 'string' && NUMERIC_STRING.has((s as Json).format)

/** A copy of `schema` with numbers as `integer`/`number` and no `nullable` (recursively). */
export function normalizeSchema(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(normalizeSchema)
  if (!schema || typeof schema !== 'object') return schema
  let s: Json = { ...(schema as Json) }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = s[key]
    if (Array.isArray(members) && members.some(isNumericString) && members.some(isNumberMember)) {
      const rest = members.filter((m: unknown) => !isNumericString(m))
      const { [key]: _, ...outer } = s
      if (rest.length === 1) s = { ...outer, ...rest[0] }
      else s = { ...outer, [key]: rest }
      if (s.default !== undefined && typeof s.default !== 'number') s.default = Number(s.default)
    }
  }
  if (s.nullable === true) {
    delete s.nullable
    if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
      const key = Array.isArray(s.anyOf) ? 'anyOf' : 'oneOf'
      if (!s[key].some((m: Json) => m?.type === 'null')) s[key] = [...s[key], { type: 'null' }]
    } else if (typeof s.type === 'string') s.type = [s.type, 'null']
    else if (Array.isArray(s.type) && !s.type.includes('null')) s.type = [...s.type, 'null']
  } else if ('nullable' in s) delete s.nullable
  for (const [k, v] of Object.entries(s)) {
    if (k === 'example' || k === 'examples' || k === 'default' || k === 'const' || k === 'enum') continue
    if (v && typeof v === 'object') s[k] = normalizeSchema(v)
  }
  return s
}

const DATE_TIME = '2026-03-14T09:26:53.000Z'
const UUID = '6f1c2a4e-8b3d-4f5a-9c7e-2d1b0a9e8f7c'
const NO_EXAMPLE = Symbol('no example')

function stringFor(s: Json, name: string): string | typeof NO_EXAMPLE {
  const byFormat: Record<string, string> = {
    'date-time': DATE_TIME,
    date: DATE_TIME.slice(0, 10),
    uuid: UUID,
    email: 'ada@example.com',
    uri: 'https://app.example.com/projects',
    url: 'https://app.example.com/projects',
  }
  let v = byFormat[s.format] ?? ''
  if (s.format === 'binary') return NO_EXAMPLE
  if (!v) {
    const n = name.toLowerCase()
    if (n.includes('email')) v = 'ada@example.com'
    else if (n.endsWith('url')) v = 'https://app.example.com/projects'
    else if (n.endsWith('_at')) v = DATE_TIME
    else if (n === 'id' || n.endsWith('_id') || n.endsWith('_ids')) v = UUID
    else if (n === 'timestamp') v = DATE_TIME
    else if (n === 'phone') v = '+44 20 7946 0958'
    else if (n === 'company') v = 'Acme Ltd'
    else if (n === 'source') v = 'pricing-page'
    else if (n === 'plans' || n === 'plan') v = 'pro'
    else if (n === 'status') v = 'healthy'
    else if (n.includes('token')) v = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.c2lnbmF0dXJl'
    else if (n === 'name') v = 'Website redesign'
    else if (n.includes('key')) v = 'new_dashboard'
    else if (n === 'message') v = 'Hello, I would like to know more about the Pro plan.'
    else if (n === 'subject') v = 'Pricing question'
    else if (n === 'description') v = 'Landing page and docs for the spring launch'
    else if (n === 'reason') v = 'Support ticket #4821'
    else if (n === 'content_type' || n === 'mime_type') v = 'image/png'
    else if (n === 'filename') v = 'report.pdf'
    else if (n === 'prompt') v = 'Summarise this week in one sentence.'
    else if (n === 'role') v = 'user'
    else v = name ? name.replace(/_/g, ' ') : 'text'
  }
  if (typeof s.minLength === 'number' && v.length < s.minLength) v = v.padEnd(s.minLength, 'x')
  if (typeof s.maxLength === 'number' && v.length > s.maxLength) v = v.slice(0, s.maxLength)
  if (typeof s.pattern === 'string') {
    try {
      if (!new RegExp(s.pattern, 'u').test(v)) return NO_EXAMPLE
    } catch {
      return NO_EXAMPLE
    }
  }
  return v
}

function sampleOf(schema: unknown, name: string, depth: number): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return NO_EXAMPLE
  const s = schema as Json
  if (s.example !== undefined) return s.example
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0]
  if (s.const !== undefined) return s.const
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0]
  if (s.default !== undefined) return s.default
  const members = s.anyOf ?? s.oneOf
  if (Array.isArray(members)) {
    for (const m of members) {
      if ((m as Json)?.type === 'null') continue
      const v = sampleOf(m, name, depth + 1)
      if (v !== NO_EXAMPLE) return v
    }
    return members.some((m: Json) => m?.type === 'null') ? null : NO_EXAMPLE
  }
  const type = Array.isArray(s.type) ? (s.type.find((t: string) => t !== 'null') ?? 'null') : s.type
  switch (type) {
    case 'object': {
      const out: Json = {}
      for (const [key, prop] of Object.entries((s.properties ?? {}) as Json)) {
        const v = sampleOf(prop, key, depth + 1)
        if (v === NO_EXAMPLE) {
          if ((s.required ?? []).includes(key)) return NO_EXAMPLE
          continue
        }
        out[key] = v
      }
      for (const key of s.required ?? []) if (!(key in out)) return NO_EXAMPLE
      return out
    }
    case 'array': {
      if (!s.items) return []
      const v = sampleOf(s.items, name, depth + 1)
      if (v === NO_EXAMPLE) return (s.minItems ?? 0) > 0 ? NO_EXAMPLE : []
      return [v]
    }
    case 'string':
      return stringFor(s, name)
    case 'integer':
    case 'number': {
      let n =
        typeof s.minimum === 'number'
          ? s.minimum
          : name === 'skip'
            ? 0
            : name === 'limit'
              ? 20
              : name.includes('count') || name === 'total'
                ? 3
                : 1
      if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) n = s.exclusiveMinimum + 1
      if (typeof s.maximum === 'number' && n > s.maximum) n = s.maximum
      return n
    }
    case 'boolean':
      return true
    case 'null':
      return null
    default:
      return s.properties ? sampleOf({ ...s, type: 'object' }, name, depth) : NO_EXAMPLE
  }
}

/** A realistic value for `schema` (ISO dates, UUIDs, names), or undefined when none can be made safely. */
export function sample(schema: unknown): unknown {
  const v = sampleOf(schema, '', 0)
  return v === NO_EXAMPLE ? undefined : v
}

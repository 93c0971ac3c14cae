/**
 * Every response a test sees agrees with the app's own OpenAPI documents (docs/testing.md#responses-match-the-documents):
 * `clientFor` (and so `testApp`) checks each answer against `/openapi/v1.json` or `/openapi/v2.json`
 * (the version that served it) with Ajv, JSON Schema draft 2020-12 as OpenAPI 3.1 uses, and throws
 * on a body that does not match, a status the operation does not document, or a media type it
 * does not list.
 *
 * The documents are the ones the app serves (`versionDocument(app.openapi(), v)`), read once per
 * app; the Ajv instance and the validators it compiles are shared by every app whose documents are
 * identical (most test files boot the same plugins several times), each validator compiled on its
 * first use.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { App } from '../app/index.ts'
import { type ApiDocVersion, versionDocument } from '../openapi/index.ts'

type Json = Record<string, any>

/** What the check reads of a response: the test client's TestResponse has these fields. */
export interface CheckedResponse {
  status: number
  headers: Headers
  body: unknown
  text: string
}

export interface ResponseCheck {
  readonly docs: Record<ApiDocVersion, Json>
  /**
   * Undefined when the response agrees with the documents, else what is wrong (one line).
   * `requestHeaders`: those the request was sent with (an unversioned path names its version there).
   */
  problem(method: string, path: string, res: CheckedResponse, requestHeaders?: HeadersInit): string | undefined
  /** A compiled validator for the schema at `parts` (a JSON pointer's segments) in one document. */
  validatorAt(version: ApiDocVersion, parts: string[]): ValidateFunction
}

/** A JSON pointer from its segments (`/` and `~` escaped). */
export const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

interface Template {
  template: string
  ops: Json
  re: RegExp
  /** Fixed segments: a static path wins over a parameter (`/projects/export` over `/projects/{id}`). */
  literal: number
}

const templatesOf = (doc: Json): Template[] =>
  Object.entries<Json>(doc.paths ?? {}).map(([template, ops]) => ({
    template,
    ops,
    re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    literal: template.split('/').filter((s) => s && !s.startsWith('{')).length,
  }))

/** The documented operation for a concrete path: `/api/v2/app/projects/<uuid>` -> `/api/v2/app/projects/{project_id}`. */
function operationIn(
  templates: Template[],
  method: string,
  path: string,
): { template: string; method: string; op: Json } | undefined {
  const m = method.toLowerCase()
  let best: Template | undefined
  for (const t of templates) if (t.ops[m] && t.re.test(path) && (!best || t.literal > best.literal)) best = t
  return best && { template: best.template, method: m, op: best.ops[m] }
}

/** The version that answered: the X-API-Version header, else the path, else v1 (what the core answers outside /api). */
function versionOf(path: string, headers: Headers): ApiDocVersion {
  const header = headers.get('x-api-version')
  if (header === 'v1' || header === 'v2') return header
  return path.startsWith('/api/v2/') ? 'v2' : 'v1'
}

/**
 * `/api/app/x` served as v2 is documented as `/api/v2/app/x`; undefined when the request asked
 * for a version no document describes (`Accept-Version: v7`, answered 400 before routing).
 */
function documentedPath(path: string, version: ApiDocVersion, requestHeaders?: HeadersInit): string | undefined {
  const bare = path.split(/[?#]/)[0]!
  if (!bare.startsWith('/api/') || /^\/api\/v\d+(\/|$)/.test(bare)) return bare
  const h = new Headers(requestHeaders)
  const asked = h.get('accept-version') ?? h.get('x-api-version')
  if (asked !== null && asked !== 'v1' && asked !== 'v2') return undefined
  return `/api/${version}${bare.slice(4)}`
}

const mediaType = (type: string) => type.split(';')[0]!.trim().toLowerCase()
const isJson = (type: string) => /^application\/([\w.+-]+\+)?json$/.test(mediaType(type))

/**
 * The route declared no success response at all: its only one is the `200 OK` without content
 * that core/openapi/build.ts writes for it. Test-only routes do this; any success of theirs passes
 * (there is nothing to hold it to), their errors are checked in full. starters/saas/openapi-responses.test.ts proves no
 * shipped route does.
 */
export const declaresNoResponse = (op: Json): boolean => {
  const success = Object.entries<Json>(op.responses ?? {}).filter(([s]) => Number(s) < 400)
  return (
    success.length === 1 && success[0]![0] === '200' && success[0]![1].description === 'OK' && !success[0]![1].content
  )
}

export function createResponseCheck(docs: Record<ApiDocVersion, Json>): ResponseCheck {
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false })
  addFormats(ajv)
  ajv.addFormat('binary', true)
  const ids: Record<ApiDocVersion, string> = { v1: 'https://omnistack.test/v1', v2: 'https://omnistack.test/v2' }
  for (const v of ['v1', 'v2'] as const) ajv.addSchema(docs[v], ids[v])
  const templates = { v1: templatesOf(docs.v1), v2: templatesOf(docs.v2) }
  const validators = new Map<string, ValidateFunction>()

  const validatorAt = (version: ApiDocVersion, parts: string[]) => {
    const ref = `${ids[version]}#/${pointer(...parts)}`
    let validate = validators.get(ref)
    if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: ref })))
    return validate
  }
  const mismatch = (validate: ValidateFunction, body: unknown) =>
    validate(body) ? undefined : ajv.errorsText(validate.errors, { separator: '; ', dataVar: 'body' })

  /** An answer outside the documents: an error must still be in the contract's shape. */
  function undocumented(version: ApiDocVersion, res: CheckedResponse): string | undefined {
    if (res.status < 400) return undefined
    const type = res.headers.get('content-type') ?? ''
    if (!isJson(type)) return `an error answered as ${type || 'no content type'}, not the contract's JSON error`
    const schema = version === 'v2' ? 'ErrorV2' : 'Error'
    const why = mismatch(validatorAt(version, ['components', 'schemas', schema]), res.body)
    return why && `not the contract's error shape (${schema}): ${why}`
  }

  function problem(
    method: string,
    path: string,
    res: CheckedResponse,
    requestHeaders?: HeadersInit,
  ): string | undefined {
    const version = versionOf(path, res.headers)
    const upper = method.toUpperCase()
    const documentedAt = documentedPath(path, version, requestHeaders)
    const found = documentedAt && operationIn(templates[version], upper === 'HEAD' ? 'GET' : upper, documentedAt)
    if (!found) return undocumented(version, res)
    // A route that declares nothing (test-only): any success passes; its errors are checked below.
    if (res.status < 400 && declaresNoResponse(found.op)) return undefined
    const status = String(res.status)
    const documented = found.op.responses?.[status] as Json | undefined
    if (!documented) {
      const listed = Object.keys(found.op.responses ?? {}).join(', ')
      return `status ${status} is not documented for ${found.method.toUpperCase()} ${found.template} (${version}: ${listed})`
    }
    const type = res.headers.get('content-type') ?? ''
    const content = documented.content as Json | undefined
    if (upper === 'HEAD' || res.status === 204 || res.status === 304 || res.status === 101) {
      return res.text === '' ? undefined : `a ${status} with a body`
    }
    if (!content) {
      if (res.text === '') return undefined
      return `a ${type || 'untyped'} body, but ${status} documents none`
    }
    const media =
      Object.keys(content).find((k) => mediaType(k) === mediaType(type)) ?? (content['*/*'] ? '*/*' : undefined)
    if (!media)
      return `content type ${type || '(none)'} is not documented for ${status} (${Object.keys(content).join(', ')})`
    // Bytes of any type (a stored file that happens to be JSON) are not a JSON answer to validate.
    if (!isJson(type) || media === '*/*') return undefined
    if (!content[media]?.schema) return `a JSON body with no documented schema for ${status}`
    const why = mismatch(
      validatorAt(version, ['paths', found.template, found.method, 'responses', status, 'content', media, 'schema']),
      res.body,
    )
    return (
      why &&
      `the body does not match the ${version} schema of ${found.method.toUpperCase()} ${found.template} ${status}: ${why}`
    )
  }

  return { docs, problem, validatorAt }
}

/** Checks shared by apps that serve the same documents (keyed by their text; a few at most). */
const byText = new Map<string, ResponseCheck>()
const byApp = new WeakMap<App, ResponseCheck>()

/** The check for an app's own documents, built on its first response and kept with the app. */
export function responseCheckFor(app: App): ResponseCheck {
  let check = byApp.get(app)
  if (check) return check
  const spec = app.openapi()
  // As served: the JSON text, not the objects (which still carry TypeBox's symbols).
  const text = JSON.stringify({ v1: versionDocument(spec, 'v1'), v2: versionDocument(spec, 'v2') })
  check = byText.get(text)
  if (!check) {
    check = createResponseCheck(JSON.parse(text))
    if (byText.size >= 8) byText.delete(byText.keys().next().value!)
    byText.set(text, check)
  }
  byApp.set(app, check)
  return check
}

/** Throws an Error naming the request, the status and what is wrong when the response disagrees with the documents. */
export function assertDocumented(
  app: App,
  method: string,
  path: string,
  res: CheckedResponse,
  requestHeaders?: HeadersInit,
): void {
  const why = responseCheckFor(app).problem(method, path, res, requestHeaders)
  if (why === undefined) return
  const body = res.text.length > 400 ? `${res.text.slice(0, 400)}...` : res.text
  throw new Error(
    `${method.toUpperCase()} ${path} -> ${res.status}: the response disagrees with the OpenAPI document: ${why}\n  body: ${body}`,
  )
}

/**
 * Test harness (docs/testing.md#conventions): a fresh database per app (a migrated PGlite clone, or a fresh
 * database on TEST_DATABASE_URL), HS256 tokens for any user, and requests through app.handle.
 */
import { SignJWT } from 'jose'
import { createApp, CORE_MIGRATIONS, type App, type CreateAppOptions } from '../app/index.ts'
import type { AnyPlugin } from '../plugin/index.ts'
import { createTestDatabase } from './database.ts'
import { assertDocumented } from './response-check.ts'

export {
  assertDocumented,
  createResponseCheck,
  declaresNoResponse,
  pointer,
  type ResponseCheck,
  responseCheckFor,
} from './response-check.ts'
export { keyHeader, scopedKeys } from './scoped-keys.ts'

export const TEST_JWT_SECRET = 'omnistack-test-secret-0123456789abcdef'

export interface TestResponse<T = any> {
  status: number
  headers: Headers
  body: T
  text: string
}

export interface RequestInit2 {
  body?: unknown
  headers?: Record<string, string>
  /** Raw body string (sent as is, with the given content-type). */
  raw?: string
  ip?: string
  /**
   * `false` skips the check of the response against the OpenAPI document
   * (docs/testing.md#responses-match-the-documents). Only for a request that deliberately sends
   * what the document cannot describe; say why in a comment beside it.
   */
  validate?: false
}

export interface Client {
  request<T = any>(method: string, path: string, init?: RequestInit2): Promise<TestResponse<T>>
  get<T = any>(path: string, init?: RequestInit2): Promise<TestResponse<T>>
  post<T = any>(path: string, body?: unknown, init?: RequestInit2): Promise<TestResponse<T>>
  patch<T = any>(path: string, body?: unknown, init?: RequestInit2): Promise<TestResponse<T>>
  put<T = any>(path: string, body?: unknown, init?: RequestInit2): Promise<TestResponse<T>>
  delete<T = any>(path: string, init?: RequestInit2): Promise<TestResponse<T>>
}

export interface TestApp extends Client {
  app: App
  /** A client whose requests carry a token for `user` (a sub, or claims). */
  as(user: string | Claims): Client
  token(user: string | Claims, options?: { expiresIn?: string | number }): Promise<string>
  close(): Promise<void>
}

export interface Claims {
  sub: string
  email?: string
  name?: string
  [claim: string]: unknown
}

export interface TestAppOptions extends Omit<CreateAppOptions, 'database' | 'env' | 'plugins'> {
  plugins?: AnyPlugin[]
  env?: Record<string, string>
}

/** A user named by a string signs in as most providers issue it: with a verified email (docs/auth.md#verified-email). */
export const claimsFor = (user: string | Claims): Claims =>
  typeof user === 'string' ? { sub: user, email: `${user}@example.com`, email_verified: true, name: user } : user

export async function signTestToken(
  user: string | Claims,
  secret = TEST_JWT_SECRET,
  expiresIn: string | number = '1h',
) {
  const { sub, ...rest } = claimsFor(user)
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret))
}

export function clientFor(app: App, auth?: () => Promise<string | undefined>): Client {
  const request = async (method: string, path: string, init: RequestInit2 = {}) => {
    const headers: Record<string, string> = { ...init.headers }
    const token = await auth?.()
    if (token && !('authorization' in headers)) headers.authorization = `Bearer ${token}`
    let body: string | undefined
    if (init.raw !== undefined) body = init.raw
    else if (init.body !== undefined) {
      body = JSON.stringify(init.body)
      headers['content-type'] ??= 'application/json'
    }
    const res = await app.handle(
      new Request(`http://localhost${path}`, { method, headers, body }),
      init.ip ?? '127.0.0.1',
    )
    const text = await res.text()
    let parsed: unknown = text
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text)
    const answer = { status: res.status, headers: res.headers, body: parsed as any, text }
    if (init.validate !== false) assertDocumented(app, method, path, answer, headers)
    return answer
  }
  return {
    request,
    get: (p, i) => request('GET', p, i),
    post: (p, b, i) => request('POST', p, { ...i, body: b }),
    patch: (p, b, i) => request('PATCH', p, { ...i, body: b }),
    put: (p, b, i) => request('PUT', p, { ...i, body: b }),
    delete: (p, i) => request('DELETE', p, i),
  }
}

export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const plugins = options.plugins ?? []
  const database = await createTestDatabase({
    migrations: [
      CORE_MIGRATIONS,
      ...plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! })),
    ],
  })
  let app: App
  try {
    app = await createApp({
      workers: false,
      ...options,
      plugins,
      database,
      // Tests that bring a JWKS server use it instead of the HS256 test secret.
      env: {
        ...(options.env?.AUTH_JWKS_URL ? {} : { AUTH_JWT_SECRET: TEST_JWT_SECRET }),
        LOG_LEVEL: 'error',
        DATA_DIR: '.data-test',
        // Tests send many refused tokens from one address; the failed-authentication limit has its own tests.
        RATE_LIMIT_AUTH: '100000/minute',
        ...options.env,
      },
    })
  } catch (err) {
    await database.close()
    throw err
  }
  const tokens = new Map<string, Promise<string>>()
  const token = (user: string | Claims, opts: { expiresIn?: string | number } = {}) => {
    const key = JSON.stringify([claimsFor(user), opts])
    let t = tokens.get(key)
    if (!t) tokens.set(key, (t = signTestToken(user, TEST_JWT_SECRET, opts.expiresIn)))
    return t
  }
  return {
    app,
    ...clientFor(app),
    as: (user) => clientFor(app, () => token(user)),
    token,
    async close() {
      await app.stop()
      await database.close()
    },
  }
}

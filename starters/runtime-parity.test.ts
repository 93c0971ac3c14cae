/**
 * Deno parity, proved (docs/deployment.md#deno): each starter runs as its own process on Bun
 * (`bun starters/start.ts`, what `npm start` runs) and on Deno (`deno run -A starters/start.ts`,
 * `npm run start:deno`), and the same smoke set runs against both over HTTP and WebSocket on
 * loopback (the full set on saas, a lighter one on minimal and helpdesk): the start log line, health and readiness, the v1 and v2 envelopes, 401/200, a CRUD
 * round trip, an Idempotency-Key replay, a 429, a WebSocket subscribe and message, and a
 * graceful exit on SIGTERM and on SIGINT.
 *
 * Timeouts, stated: a start (PGlite plus every migration on a fresh DATA_DIR) may take up to
 * START_TIMEOUT_MS; an HTTP answer STEP_TIMEOUT_MS; a WebSocket frame FRAME_TIMEOUT_MS; an exit
 * after a signal EXIT_TIMEOUT_MS. Every process started here is killed in afterAll.
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signTestToken, TEST_JWT_SECRET } from '../core/testing/index.ts'

const ROOT = new URL('../', import.meta.url).pathname
const START = join(ROOT, 'starters/start.ts')
const RUNTIMES = {
  bun: [join(ROOT, 'node_modules/.bin/bun'), '--max-http-header-size=1048576', START],
  deno: [join(ROOT, 'node_modules/.bin/deno'), 'run', '-A', '--quiet', START],
} as const
type Runtime = keyof typeof RUNTIMES

const START_TIMEOUT_MS = 120_000
const STEP_TIMEOUT_MS = 15_000
const FRAME_TIMEOUT_MS = 15_000
const EXIT_TIMEOUT_MS = 30_000
/** The default class per user: low, so a 429 is a few requests away. */
const RATE_PER_MINUTE = 40

interface Server {
  proc: ChildProcess
  base: string
  /** The JSON lines the process printed (stdout), parsed. */
  lines: () => Record<string, unknown>[]
  output: () => string
  exited: Promise<number | null>
}

const children = new Set<ChildProcess>()
const dirs: string[] = []

afterAll(() => {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Starts a starter on a runtime with port 0 and waits for its "listening" log line. */
function start(runtime: Runtime, starter: string, dataDir: string): Promise<Server> {
  const [bin, ...args] = RUNTIMES[runtime]
  const proc = spawn(bin, [...args, '--starter', starter], {
    cwd: dataDir, // no .env of the repository is read
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://127.0.0.1',
      DATA_DIR: dataDir,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_DEFAULT: `${RATE_PER_MINUTE}/minute`,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  let out = ''
  let err = ''
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`${runtime} ${starter} did not listen in ${START_TIMEOUT_MS} ms:\n${out}${err}`))
    }, START_TIMEOUT_MS)
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const listening = lines().find((l) => String(l.message).endsWith('listening'))
      if (listening) {
        clearTimeout(timer)
        const port = new URL(String(listening.url)).port
        resolve({ proc, base: `http://127.0.0.1:${port}`, lines, output: () => out + err, exited })
      }
    })
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${runtime} ${starter} exited with ${code} before listening:\n${out}${err}`))
    })
  })
}

async function stop(server: Server, signal: 'SIGTERM' | 'SIGINT') {
  server.proc.kill(signal)
  let timer: ReturnType<typeof setTimeout> | undefined
  const code = await Promise.race([
    server.exited,
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), EXIT_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer))
  return code
}

const tokens = new Map<string, Promise<string>>()
const token = (user: string) => {
  if (!tokens.has(user)) tokens.set(user, signTestToken(user))
  return tokens.get(user)!
}

async function call(
  server: Server,
  method: string,
  path: string,
  options: { user?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers }
  if (options.user) headers.authorization = `Bearer ${await token(options.user)}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

/** A WebSocket with a queue of parsed frames; `next(type)` waits for the next frame of a type. */
async function socket(server: Server, user: string) {
  const ws = new WebSocket(`${server.base.replace('http', 'ws')}/api/v1/app/ws?token=${await token(user)}`)
  const frames: Record<string, any>[] = []
  const waiting: (() => void)[] = []
  ws.onmessage = (e) => {
    frames.push(JSON.parse(String(e.data)))
    for (const wake of waiting.splice(0)) wake()
  }
  const next = async (type: string) => {
    const deadline = Date.now() + FRAME_TIMEOUT_MS
    for (;;) {
      const at = frames.findIndex((f) => f.type === type)
      if (at >= 0) return frames.splice(at, 1)[0]!
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no "${type}" frame within ${FRAME_TIMEOUT_MS} ms; got ${JSON.stringify(frames)}`)
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left)
        waiting.push(() => {
          clearTimeout(timer)
          r()
        })
      })
    }
  }
  const send = (message: unknown) => ws.send(JSON.stringify(message))
  return { ws, next, send }
}

/** What each runtime's run saw, compared across runtimes at the end. */
const seen: Partial<Record<Runtime, { listening: Record<string, unknown>; answers: Record<string, unknown> }>> = {}

for (const runtime of Object.keys(RUNTIMES) as Runtime[]) {
  describe(`saas starter on ${runtime}`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `omnistack-parity-${runtime}-`))
    dirs.push(dataDir)
    let server: Server
    const answers: Record<string, unknown> = {}

    it(
      'starts and prints the listening line',
      async () => {
        server = await start(runtime, 'saas', dataDir)
        const listening = server.lines().find((l) => l.message === 'OmniStack saas listening')!
        expect(listening).toMatchObject({ level: 'INFO', database: 'pglite', runtime })
        expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        seen[runtime] = { listening, answers }
      },
      START_TIMEOUT_MS + 5000,
    )

    it('answers health and readiness', async () => {
      const live = await call(server, 'GET', '/api/v1/public/health')
      expect(live.status).toBe(200)
      expect(live.body.status).toBe('healthy')
      expect(live.headers.get('x-request-id')).toBeTruthy()
      const ready = await call(server, 'GET', '/api/v1/public/health/ready')
      expect(ready.status).toBe(200)
      answers.ready = Object.keys(ready.body).sort()
    })

    it('answers 401 without a token and 200 with one, raw on v1 and enveloped on v2', async () => {
      const anonymous = await call(server, 'GET', '/api/v1/app/users/me')
      expect(anonymous.status).toBe(401)
      expect(anonymous.body.error.code).toBe('AUTHENTICATION_ERROR')
      const v1 = await call(server, 'GET', '/api/v1/app/users/me', { user: 'alice' })
      expect(v1.status).toBe(200)
      expect(v1.body.id).toBe('alice')
      expect(v1.body.data).toBeUndefined()
      const v2 = await call(server, 'GET', '/api/v2/app/users/me', { user: 'alice' })
      expect(v2.status).toBe(200)
      expect(v2.body.data.id).toBe('alice')
      expect(v2.body.meta.version).toBe('v2')
      expect(v2.headers.get('x-api-version')).toBe('v2')
      const anonymousV2 = await call(server, 'GET', '/api/v2/app/users/me')
      expect(anonymousV2.body.meta.version).toBe('v2')
      answers.envelopes = [Object.keys(v1.body).sort(), Object.keys(v2.body).sort(), Object.keys(v2.body.meta).sort()]
    })

    it('runs a CRUD round trip', async () => {
      const created = await call(server, 'POST', '/api/v1/app/projects', {
        user: 'alice',
        body: { name: 'Parity', description: 'on two runtimes' },
      })
      expect(created.status).toBe(201)
      const id = created.body.id
      expect((await call(server, 'GET', `/api/v1/app/projects/${id}`, { user: 'alice' })).body.name).toBe('Parity')
      const list = await call(server, 'GET', '/api/v2/app/projects', { user: 'alice' })
      expect(list.body.data.map((p: { id: string }) => p.id)).toContain(id)
      expect(list.body.meta.pagination.total).toBeGreaterThanOrEqual(1)
      const patched = await call(server, 'PATCH', `/api/v1/app/projects/${id}`, {
        user: 'alice',
        body: { name: 'Parity 2' },
      })
      expect(patched.body.name).toBe('Parity 2')
      expect((await call(server, 'GET', `/api/v1/app/projects/${id}`, { user: 'bob' })).status).toBe(404)
      expect((await call(server, 'DELETE', `/api/v1/app/projects/${id}`, { user: 'alice' })).status).toBe(204)
      const gone = await call(server, 'GET', `/api/v1/app/projects/${id}`, { user: 'alice' })
      expect(gone.status).toBe(404)
      expect(gone.body.error.code).toBe('NOT_FOUND')
      answers.project = Object.keys(created.body).sort()
    })

    it('replays a POST with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `parity-${runtime}` }
      const body = { name: 'Idempotent' }
      const first = await call(server, 'POST', '/api/v1/app/projects', { user: 'alice', body, headers })
      expect(first.status).toBe(201)
      expect(first.headers.get('idempotent-replayed')).toBeNull()
      const again = await call(server, 'POST', '/api/v1/app/projects', { user: 'alice', body, headers })
      expect(again.status).toBe(201)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.body).toEqual(first.body)
      const other = await call(server, 'POST', '/api/v1/app/projects', {
        user: 'alice',
        body: { name: 'Another body' },
        headers,
      })
      expect(other.status).toBe(409)
    })

    it('answers 429 past the rate limit, with Retry-After', async () => {
      const first = await call(server, 'GET', '/api/v1/app/users/me', { user: 'limited' })
      expect(first.status).toBe(200)
      expect(first.headers.get('x-ratelimit-limit')).toBe(String(RATE_PER_MINUTE))
      const remaining = Number(first.headers.get('x-ratelimit-remaining'))
      expect(remaining).toBe(RATE_PER_MINUTE - 1)
      for (let i = 0; i < remaining; i++)
        expect((await call(server, 'GET', '/api/v1/app/users/me', { user: 'limited' })).status).toBe(200)
      const refused = await call(server, 'GET', '/api/v1/app/users/me', { user: 'limited' })
      expect(refused.status).toBe(429)
      expect(refused.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      // Another user still has their own quota.
      expect((await call(server, 'GET', '/api/v1/app/users/me', { user: 'alice' })).status).toBe(200)
    })

    it('subscribes over WebSocket and receives a message and a resource event', async () => {
      const project = await call(server, 'POST', '/api/v1/app/projects', { user: 'alice', body: { name: 'Live' } })
      const channel = `project:${project.body.id}`
      const a = await socket(server, 'alice')
      const b = await socket(server, 'alice')
      try {
        expect((await a.next('connected')).data.user_id).toBe('alice')
        await b.next('connected')
        a.send({ type: 'subscribe', channel })
        b.send({ type: 'subscribe', channel })
        expect((await a.next('subscribed')).channel).toBe(channel)
        await b.next('subscribed')
        a.send({ type: 'message', channel, data: { text: 'hello' } })
        const message = await b.next('channel_message')
        expect(message).toMatchObject({ channel, data: { text: 'hello' }, sender_id: 'alice' })
        await call(server, 'PATCH', `/api/v1/app/projects/${project.body.id}`, {
          user: 'alice',
          body: { name: 'Live 2' },
        })
        const updated = await a.next('project.updated')
        expect(updated).toMatchObject({ channel, changed: ['name'] })
        expect(updated.data.name).toBe('Live 2')
        answers.frames = [Object.keys(message).sort(), Object.keys(updated).sort()]
      } finally {
        a.ws.close()
        b.ws.close()
      }
    })

    it(
      'exits 0 on SIGTERM after draining, then starts again and exits 0 on SIGINT',
      async () => {
        expect(await stop(server, 'SIGTERM')).toBe(0)
        expect(server.lines().some((l) => l.message === 'shutdown complete')).toBe(true)
        await expect(fetch(`${server.base}/api/v1/public/health`)).rejects.toThrow()
        // The same DATA_DIR again: the lock was released, the migrations are already applied.
        const again = await start(runtime, 'saas', dataDir)
        expect(again.lines().some((l) => l.message === 'migration applied')).toBe(false)
        expect((await call(again, 'GET', '/api/v1/public/health')).status).toBe(200)
        expect(await stop(again, 'SIGINT')).toBe(0)
        expect(again.lines().some((l) => l.message === 'shutdown complete')).toBe(true)
      },
      START_TIMEOUT_MS + 2 * EXIT_TIMEOUT_MS,
    )
  })
}

/**
 * The other starters, lighter: the start line, health and readiness, 401 and the starter's own
 * authenticated route (helpdesk: a ticket round trip; minimal: the core alone, so an unknown
 * /app route answers 404 to a valid token), and exit 0 on SIGTERM.
 */
for (const starter of ['minimal', 'helpdesk'] as const) {
  for (const runtime of Object.keys(RUNTIMES) as Runtime[]) {
    it(
      `${starter} starter on ${runtime}: starts, answers, exits 0 on SIGTERM`,
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), `omnistack-parity-${starter}-${runtime}-`))
        dirs.push(dataDir)
        const server = await start(runtime, starter, dataDir)
        const listening = server.lines().find((l) => l.message === `OmniStack ${starter} listening`)
        expect(listening).toMatchObject({ level: 'INFO', database: 'pglite', runtime })
        expect((await call(server, 'GET', '/api/v1/public/health')).status).toBe(200)
        expect((await call(server, 'GET', '/api/v1/public/health/ready')).status).toBe(200)
        if (starter === 'helpdesk') {
          expect((await call(server, 'GET', '/api/v1/app/tickets')).status).toBe(401)
          const created = await call(server, 'POST', '/api/v1/app/tickets', {
            user: 'alice',
            body: { title: 'Parity', description: 'on two runtimes' },
          })
          expect(created.status).toBe(201)
          const read = await call(server, 'GET', `/api/v2/app/tickets/${created.body.id}`, { user: 'alice' })
          expect(read.body.data.title).toBe('Parity')
          expect((await call(server, 'GET', `/api/v1/app/tickets/${created.body.id}`, { user: 'bob' })).status).toBe(
            404,
          )
        } else {
          const anonymous = await call(server, 'GET', '/api/v1/app/nothing')
          expect(anonymous.status).toBe(401)
          const known = await call(server, 'GET', '/api/v2/app/nothing', { user: 'alice' })
          expect(known.status).toBe(404)
          expect(known.body.meta.version).toBe('v2')
        }
        expect(await stop(server, 'SIGTERM')).toBe(0)
        expect(server.lines().some((l) => l.message === 'shutdown complete')).toBe(true)
      },
      START_TIMEOUT_MS + EXIT_TIMEOUT_MS + 4 * STEP_TIMEOUT_MS,
    )
  }
}

describe('bun and deno', () => {
  it('print the same listening line and answer with the same shapes', () => {
    const { bun, deno } = seen
    if (!bun || !deno) throw new Error('a runtime did not start: see its tests above')
    const shape = (l: Record<string, unknown>) => ({ ...l, timestamp: '', url: '', runtime: '' })
    expect(shape(deno.listening)).toEqual(shape(bun.listening))
    expect(deno.answers).toEqual(bun.answers)
  })
})

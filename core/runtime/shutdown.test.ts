import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signTestToken, TEST_JWT_SECRET } from '../testing/index.ts'
import { spawnServer, type Child } from './fixtures/spawn.ts'

const BUN = new URL('../../node_modules/.bin/bun', import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-shutdown-'))
let child: Child

beforeAll(async () => {
  child = await spawnServer(
    [BUN, new URL('./fixtures/serve-echo.ts', import.meta.url).pathname],
    {
      PORT: '0',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    110_000,
  )
}, 120_000)

afterAll(() => {
  if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

describe('shutdown', () => {
  it('finishes an in-flight request on SIGTERM, refuses new connections, and exits 0', async () => {
    const base = `http://127.0.0.1:${child.port}`
    const token = await signTestToken('slow-user')
    const slow = fetch(`${base}/api/v1/app/echo/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'slow', delay_ms: 1500 }),
    })
    await Bun.sleep(300)
    child.proc.kill('SIGTERM')
    await Bun.sleep(300)
    const refused = await fetch(`${base}/api/v1/public/health`).then(
      () => 'answered',
      () => 'refused',
    )
    expect(refused).toBe('refused')
    const res = await slow
    expect(res.status).toBe(201)
    expect((await res.json()).name).toBe('slow')
    expect(await child.exited).toBe(0)
    expect(child.output()).toContain('shutdown complete')
  }, 30_000)
})

describe('shutdown with a grace period (SHUTDOWN_GRACE_MS)', () => {
  it('turns readiness 503 at once, keeps answering, and resets no request sent before the listener closed', async () => {
    // The data directory the first test initialised: a second fresh PGlite would cost seconds.
    const server = await spawnServer(
      [BUN, new URL('./fixtures/serve-echo.ts', import.meta.url).pathname],
      {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'info',
        DATA_DIR: dataDir,
        SHUTDOWN_GRACE_MS: '1500',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      110_000,
    )
    try {
      const base = `http://127.0.0.1:${server.port}`
      const outcome = { ok: 0, okAfterSignal: 0, refused: 0, reset: [] as string[] }
      let signalled = false
      // Eight clients on keep-alive connections, each until the listener refuses it.
      const client = async () => {
        for (;;) {
          try {
            const res = await fetch(`${base}/api/v1/public/health`)
            await res.arrayBuffer()
            outcome.ok++
            if (signalled) outcome.okAfterSignal++
          } catch (err) {
            const code = String((err as { code?: unknown }).code ?? (err as Error).message)
            if (/refused/i.test(code)) {
              outcome.refused++
              return
            }
            outcome.reset.push(code)
            if (outcome.reset.length > 20) return
          }
        }
      }
      const clients = Array.from({ length: 8 }, client)
      await Bun.sleep(400)
      server.proc.kill('SIGTERM')
      signalled = true
      await Bun.sleep(100)
      const ready = await fetch(`${base}/api/v1/public/health/ready`)
      expect(ready.status).toBe(503)
      expect((await ready.json()).components.server).toEqual({ status: 'unhealthy', reason: 'shutting_down' })
      await Promise.all(clients)
      expect(outcome.reset).toEqual([])
      expect(outcome.okAfterSignal).toBeGreaterThan(10)
      expect(outcome.refused).toBe(8)
      expect(await server.exited).toBe(0)
    } finally {
      if (server.proc.exitCode === null) server.proc.kill('SIGKILL')
    }
  }, 150_000)
})

describe('the edge over a real socket', () => {
  it('answers a 100 KB header with the contract 431 (Bun started with --max-http-header-size above MAX_HEADER_BYTES)', async () => {
    const server = await spawnServer(
      [BUN, '--max-http-header-size=1048576', new URL('./fixtures/serve-echo.ts', import.meta.url).pathname],
      { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', DATA_DIR: dataDir },
      110_000,
    )
    try {
      const base = `http://127.0.0.1:${server.port}`
      const res = await fetch(`${base}/api/v1/public/echo/ping`, { headers: { 'x-filler': 'a'.repeat(100 * 1024) } })
      expect(res.status).toBe(431)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(res.headers.get('x-request-id')).toBeTruthy()
      expect(res.headers.get('x-api-version')).toBe('v1')
      expect((await res.json()).error.code).toBe('HEADERS_TOO_LARGE')
      const long = await fetch(`${base}/api/v1/public/echo/ping?q=${'a'.repeat(64 * 1024)}`)
      expect(long.status).toBe(414)
      expect((await long.json()).error.code).toBe('URI_TOO_LONG')
    } finally {
      server.proc.kill('SIGKILL')
      await server.exited
    }
  }, 150_000)
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
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

/**
 * GET /api/v1/public/health on one connection while the server keeps it alive. Returns undefined once
 * the server closed it after an answer (Connection: close), 'refused' if it could not connect, or the
 * request it failed instead of answering with the Date.now() its write completed (Infinity if unsent).
 */
function keepAlive(
  port: number,
  answered: () => void,
): Promise<'refused' | { code: string; sentAt: number } | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let connected = false
    let sentAt = Number.POSITIVE_INFINITY
    let pending = false
    let buffer = ''
    const send = () => {
      pending = true
      sentAt = Number.POSITIVE_INFINITY
      // Never early: taken once the request is in the kernel (Bun writes synchronously when it can;
      // the callback comes a loop turn later, late under load).
      socket.write('GET /api/v1/public/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n', () => {
        sentAt = Math.min(sentAt, Date.now())
      })
      if (socket.writableLength === 0) sentAt = Date.now()
    }
    socket.on('connect', () => {
      connected = true
      send()
    })
    socket.on('data', (chunk) => {
      // latin1: one character per byte, to compare with content-length.
      buffer += chunk.toString('latin1')
      const headEnd = buffer.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const head = buffer.slice(0, headEnd).toLowerCase()
      const length = Number(/content-length: *(\d+)/.exec(head)?.[1])
      if (buffer.length < headEnd + 4 + length) return
      buffer = buffer.slice(headEnd + 4 + length)
      pending = false
      answered()
      if (/\r\nconnection: *close/.test(head)) socket.end()
      else send()
    })
    const fail = (code: string) => {
      socket.destroy()
      if (!connected && code === 'ECONNREFUSED') resolve('refused')
      else resolve(pending ? { code, sentAt } : undefined)
    }
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message))
    socket.on('close', () => fail('closed'))
  })
}

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
      const outcome = { ok: 0, okAfterSignal: 0, refused: 0, failed: [] as { code: string; sentAt: number }[] }
      let signalled = false
      // Eight keep-alive clients (raw sockets, to know when each request was written), each until the
      // listener refuses it.
      const client = async () => {
        while (outcome.failed.length <= 20) {
          const end = await keepAlive(server.port, () => {
            outcome.ok++
            if (signalled) outcome.okAfterSignal++
          })
          if (end === 'refused') {
            outcome.refused++
            return
          }
          if (end) outcome.failed.push(end)
        }
      }
      const clients = Array.from({ length: 8 }, client)
      await Bun.sleep(400)
      server.proc.kill('SIGTERM')
      signalled = true
      // In flight when the listener closes (after the 1.5 s grace): it must be answered, not reset.
      const slow = fetch(`${base}/api/v1/app/echo/items`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await signTestToken('slow-user')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'across-the-close', delay_ms: 2500 }),
      })
      await Bun.sleep(100)
      const ready = await fetch(`${base}/api/v1/public/health/ready`)
      expect(ready.status).toBe(503)
      expect((await ready.json()).components.server).toEqual({ status: 'unhealthy', reason: 'shutting_down' })
      await Promise.all(clients)
      const res = await slow
      expect(res.status).toBe(201)
      expect((await res.json()).name).toBe('across-the-close')
      expect(await server.exited).toBe(0)
      // The server accepts every connection established before accepted_before, then closes the
      // listener: a request written before it must be answered. One written later races the close,
      // and any server resets a connection the kernel queued just before its listener closed.
      const acceptedBefore = server
        .output()
        .split('\n')
        .filter((line) => line.includes('"accepted_before"'))
        .map((line) => JSON.parse(line).accepted_before as number)[0]
      expect(acceptedBefore).toBeNumber()
      expect(outcome.failed.filter((f) => f.sentAt < acceptedBefore!)).toEqual([])
      expect(outcome.okAfterSignal).toBeGreaterThan(10)
      expect(outcome.refused).toBe(8)
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

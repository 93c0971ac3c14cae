import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signTestToken, TEST_JWT_SECRET } from '../testing/index.ts'
import { spawnServer, type Child } from './fixtures/spawn.ts'

const DENO = new URL('../../node_modules/.bin/deno', import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-deno-'))
let child: Child

beforeAll(async () => {
  child = await spawnServer(
    [DENO, 'run', '--allow-all', '--quiet', new URL('./fixtures/serve-echo.ts', import.meta.url).pathname],
    { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', DATA_DIR: dataDir },
    120_000,
  )
}, 130_000)

afterAll(async () => {
  child?.proc.kill('SIGTERM')
  await child?.exited
  rmSync(dataDir, { recursive: true, force: true })
})

describe('deno', () => {
  it('serves health under Deno.serve', async () => {
    const res = await fetch(`http://127.0.0.1:${child.port}/api/v1/public/health`)
    expect(res.status).toBe(200)
    expect((await res.json()).status).toBe('healthy')
    expect(res.headers.get('x-request-id')).toBeTruthy()
  })

  it('serves an authenticated v2 route with the envelope', async () => {
    const token = await signTestToken('deno-user')
    const res = await fetch(`http://127.0.0.1:${child.port}/api/v2/app/echo/me`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.data).toEqual({ id: 'deno-user', role: 'user', kind: 'jwt' })
    expect(body.meta.version).toBe('v2')
    const denied = await fetch(`http://127.0.0.1:${child.port}/api/v2/app/echo/me`)
    expect(denied.status).toBe(401)
  })
})

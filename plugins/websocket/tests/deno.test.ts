/** The same protocol under Deno.serve + Deno.upgradeWebSocket (single replica, in-process fan-out). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnServer, type Child } from '../../../core/runtime/fixtures/spawn.ts'
import { signTestToken, TEST_JWT_SECRET } from '../../../core/testing/index.ts'
import { rawUpgrade, WsClient } from './helpers.ts'

const DENO = new URL('../../../node_modules/.bin/deno', import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-ws-deno-'))
let child: Child
const url = async (user: string, version = 'v1') =>
  `ws://127.0.0.1:${child.port}/api/${version}/app/ws?token=${await signTestToken(user)}`

beforeAll(async () => {
  child = await spawnServer(
    [DENO, 'run', '--allow-all', '--quiet', new URL('./fixtures/serve.ts', import.meta.url).pathname],
    { PORT: '0', AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn', DATA_DIR: dataDir, WS_MAX_MESSAGE_BYTES: '1024' },
    120_000,
  )
}, 130_000)

afterAll(async () => {
  if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

describe('websocket on deno', () => {
  it('refuses a bad token before the upgrade with 401', async () => {
    const r = await rawUpgrade(child.port, '/api/v1/app/ws?token=bad')
    r.socket.destroy()
    expect(r.status).toBe(401)
    expect(JSON.parse(r.body).error.code).toBe('AUTHENTICATION_ERROR')
  })

  it('connects, subscribes, fans out to the other subscribers, and enforces the protocol', async () => {
    const { client: a, connected } = await WsClient.open(await url('deno-user'))
    expect(connected.data.user_id).toBe('deno-user')
    const { client: b } = await WsClient.open(await url('deno-user', 'v2'))
    const { client: other } = await WsClient.open(await url('someone-else'))
    expect((await a.subscribe('user:deno-user')).type).toBe('subscribed')
    expect((await b.subscribe('user:deno-user')).type).toBe('subscribed')
    expect(await other.subscribe('user:deno-user')).toMatchObject({ type: 'error', code: 'FORBIDDEN' })
    expect(await other.subscribe('nope:1')).toMatchObject({ type: 'error', code: 'INVALID_CHANNEL' })
    a.send({ type: 'message', channel: 'user:deno-user', data: { hello: 'deno' } })
    expect(await b.next((f) => f.type === 'channel_message')).toMatchObject({
      data: { hello: 'deno' },
      sender_id: 'deno-user',
    })
    expect(await a.collect((f) => f.type === 'channel_message', 200)).toEqual([])
    a.send('{oops')
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE' })
    a.send({ type: 'message', channel: 'user:deno-user', data: 'x'.repeat(2000) })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
    for (let i = 0; i < 30; i++) a.send({ type: 'ping' })
    expect(await a.next((f) => f.type === 'error')).toMatchObject({ code: 'RATE_LIMITED' })

    // SIGTERM: every socket is closed with 1001 and the process exits.
    child.proc.kill('SIGTERM')
    for (const c of [a, b, other]) expect((await c.closed).code).toBe(1001)
    expect(await child.exited).toBe(0)
  }, 30_000)
})

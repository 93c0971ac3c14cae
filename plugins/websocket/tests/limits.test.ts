import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import websocket, { type WebsocketService } from '../index.ts'
import { rawUpgrade, serveApp, until, WsClient, type Served } from './helpers.ts'

let t: TestApp
let s: Served
let ws: WebsocketService

beforeAll(async () => {
  t = await testApp({
    plugins: [websocket],
    env: { WS_BACKPRESSURE_BYTES: '65536', WS_IDLE_TIMEOUT_SECONDS: '2', RATE_LIMIT_DEFAULT: '100000/minute' },
  })
  s = serveApp(t.app)
  ws = t.app.service(websocket)
}, 30_000)

afterAll(async () => {
  await s?.server.shutdown()
  await t?.close()
})

describe('websocket: transport limits', () => {
  it('closes a slow consumer once its buffer passes the bound instead of growing memory', async () => {
    const token = await t.token('slow')
    const raw = await rawUpgrade(s.server.port, `/api/v1/app/ws?token=${token}`, { read: false })
    expect(raw.status).toBe(101)
    const { client: fast } = await WsClient.open(s.url(token))
    await until(() => ws.stats().connections === 2, 2000, 'two sockets')
    const big = 'x'.repeat(32 * 1024)
    // Far more than the socket buffers of loopback TCP hold: the reader that never reads falls behind.
    for (let i = 0; i < 600 && ws.stats().connections === 2; i++) {
      await ws.sendToUser('slow', { type: 'notification', data: { i, big } })
      if (i % 50 === 0) await Bun.sleep(5)
    }
    await until(() => ws.stats().connections === 1, 5000, 'the slow socket to be closed')
    // The reader that keeps up is still there.
    fast.send({ type: 'ping' })
    expect((await fast.next((f) => f.type === 'pong')).type).toBe('pong')
    raw.socket.destroy()
    fast.close()
  }, 30_000)

  it('closes a socket that answers no ping within the idle timeout, keeps one that does', async () => {
    const token = await t.token('idle')
    await until(() => ws.stats().connections === 0, 5000, 'earlier sockets to close')
    const before = 0
    const silent = await rawUpgrade(s.server.port, `/api/v1/app/ws?token=${token}`)
    const { client: alive } = await WsClient.open(s.url(token))
    await until(() => ws.stats().connections === before + 2, 2000, 'two sockets')
    // Bun checks idle sockets every 4 s: ping after one period, close after the next.
    await until(() => ws.stats().connections === before + 1, 15_000, 'the silent socket to be closed')
    alive.send({ type: 'ping' })
    expect((await alive.next((f) => f.type === 'pong')).type).toBe('pong')
    silent.socket.destroy()
    alive.close()
  }, 30_000)

  it('closes every socket with 1001 on shutdown', async () => {
    const clients = await Promise.all(
      ['a', 'b', 'c'].map(async (u) => (await WsClient.open(s.url(await t.token(u)))).client),
    )
    const started = Date.now()
    await s.server.shutdown()
    for (const c of clients) expect(await c.closed).toEqual({ code: 1001, reason: 'Server shutting down' })
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

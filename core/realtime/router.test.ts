/** The plugin WebSocket contract on Bun: routing by path, refusal in the error shape, native pub/sub, 1001 on shutdown. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { connect } from 'node:net'
import { forbidden } from '../errors/index.ts'
import { definePlugin } from '../plugin/index.ts'
import { serve, type RunningServer } from '../runtime/index.ts'
import { testApp, type TestApp } from '../testing/index.ts'
import type { SocketServer } from '../plugin/index.ts'

let server: SocketServer
const echo = definePlugin({
  name: 'echo-ws',
  tag: { name: 'Echo WS' },
  setup: () => ({
    websocket: (s) => {
      server = s
      return {
        path: '/echo-ws',
        accept: ({ principal, version }) => {
          if (principal.user.id === 'mallory') throw forbidden('Not you')
          return { user: principal.user.id, version }
        },
        open: (ws) => {
          ws.subscribe('all')
          ws.send(JSON.stringify({ hello: ws.data }))
        },
        message: (ws, m) => void ws.publish('all', String(m)),
      }
    },
  }),
})
const shout = definePlugin({
  name: 'shout-ws',
  setup: () => ({
    websocket: () => ({
      path: '/shout',
      accept: () => ({}),
      message: (ws, m) => void ws.send(String(m).toUpperCase()),
    }),
  }),
})

let t: TestApp
let running: RunningServer

const open = async (path: string) => {
  const ws = new WebSocket(`ws://127.0.0.1:${running.port}${path}`)
  const frames: string[] = []
  ws.onmessage = (e) => frames.push(String(e.data))
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)))
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)))
  return { ws, frames, closed }
}
const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(10)
  expect(check()).toBe(true)
}

beforeAll(async () => {
  t = await testApp({ plugins: [echo, shout] })
  running = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
})
afterAll(async () => {
  await running.shutdown()
  await t.close()
})

describe('realtime router', () => {
  it('upgrades after the pipeline authenticated the token, and routes each path to its endpoint', async () => {
    const a = await open(`/api/v2/app/echo-ws?token=${await t.token('alice')}`)
    await waitFor(() => a.frames.length === 1)
    expect(JSON.parse(a.frames[0]!)).toEqual({ hello: { user: 'alice', version: 'v2' } })
    const s = await open(`/api/app/shout?token=${await t.token('alice')}`)
    s.ws.send('hey')
    await waitFor(() => s.frames.length === 1)
    expect(s.frames).toEqual(['HEY'])
    a.ws.close()
    s.ws.close()
  })

  it('fans out through native pub/sub: ws.publish skips the sender, server.publish reaches all', async () => {
    const a = await open(`/api/v1/app/echo-ws?token=${await t.token('a')}`)
    const b = await open(`/api/v1/app/echo-ws?token=${await t.token('b')}`)
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1)
    a.ws.send('from a')
    await waitFor(() => b.frames.length === 2)
    server.publish('all', 'to all')
    await waitFor(() => a.frames.length === 2 && b.frames.length === 3)
    expect(a.frames.slice(1)).toEqual(['to all'])
    expect(b.frames.slice(1)).toEqual(['from a', 'to all'])
    a.ws.close()
    b.ws.close()
  })

  it('refuses with the error the endpoint throws, in the contract shape, before upgrading', async () => {
    const token = await t.token('mallory')
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(running.port, '127.0.0.1', () =>
        socket.write(
          `GET /api/v1/app/echo-ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
      )
      let buf = ''
      socket.on('data', (d) => {
        buf += d.toString()
        if (buf.includes('}}')) socket.destroy(), resolve(buf)
      })
    })
    expect(raw.slice(0, 12)).toBe('HTTP/1.1 403')
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error).toMatchObject({
      code: 'AUTHORIZATION_ERROR',
      message: 'Not you',
    })
    const ws = new WebSocket(`ws://127.0.0.1:${running.port}/api/v1/app/echo-ws?token=${token}`)
    const outcome = await new Promise((r) => ((ws.onopen = () => r('open')), (ws.onerror = () => r('refused'))))
    expect(outcome).toBe('refused')
  })

  it('refuses a forged upgrade marker on a plain request', async () => {
    const res = await t
      .as('alice')
      .get('/api/v1/app/echo-ws', { headers: { 'x-omnistack-upgrade': crypto.randomUUID() } })
    // Still a plain HTTP request: 426 Upgrade Required, never an upgrade.
    expect(res.status).toBe(426)
  })

  it('closes open sockets with 1001 on shutdown', async () => {
    const a = await open(`/api/v1/app/echo-ws?token=${await t.token('z')}`)
    await running.shutdown()
    expect(await a.closed).toBe(1001)
  })
})

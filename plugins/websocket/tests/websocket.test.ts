import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin, type MeterEvent } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import projects from '../../projects/index.ts'
import users from '../../users/index.ts'
import websocket, { type WebsocketService } from '../index.ts'
import { rawUpgrade, serveApp, until, WsClient, type Served } from './helpers.ts'

const metered: MeterEvent[] = []
const meterProbe = definePlugin({
  name: 'ws-meter-probe',
  setup: () => ({ meterSink: { record: (e) => void metered.push(e), flush: async () => {} } }),
})

let t: TestApp
let s: Served
let ws: WebsocketService
const open: WsClient[] = []
const subscription = {
  user_id: '',
  source: 'stripe' as const,
  plan: 'pro',
  status: 'active',
  has_active_subscription: true,
  current_period_end: null,
  cancel_at_period_end: false,
}
const connect = async (user: string, version = 'v1') => {
  const { client, connected } = await WsClient.open(s.url(await t.token(user), version))
  open.push(client)
  return { client, connected }
}
const newProject = async (owner: string) =>
  (await t.as(owner).post('/api/v1/app/projects', { name: `p-${crypto.randomUUID()}` })).body.id as string

beforeAll(async () => {
  t = await testApp({
    plugins: [users, projects, websocket, meterProbe],
    env: {
      WS_MAX_MESSAGE_BYTES: '1024',
      WS_MAX_SUBSCRIPTIONS: '3',
      WS_RATE_LIMIT_STRIKES: '2',
      RATE_LIMIT_DEFAULT: '100000/minute',
    },
  })
  s = serveApp(t.app)
  ws = t.app.service(websocket)
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await s?.server.shutdown()
  await t?.close()
})

describe('websocket: connecting', () => {
  it('connects with a JWT on v1, v2 and unversioned paths and sends the seed connected event', async () => {
    for (const version of ['v1', 'v2', '']) {
      const { connected } = await connect('alice', version)
      expect(connected.type).toBe('connected')
      expect(connected.data.user_id).toBe('alice')
      expect(new Date(connected.data.connected_at).toISOString()).toBe(connected.data.connected_at)
      expect(typeof connected.data.connection_id).toBe('string')
    }
  })

  it('connects with an API key', async () => {
    const created = await t
      .as('keyholder')
      .post('/api/v1/app/api-keys', { name: 'realtime', scopes: ['projects:read'] })
    expect(created.status).toBe(201)
    const { client, connected } = await WsClient.open(s.url(created.body.key))
    open.push(client)
    expect(connected.data.user_id).toBe('keyholder')
  })

  it('answers the upgrade with 101 and the contract headers', async () => {
    const r = await rawUpgrade(s.server.port, `/api/v2/app/ws?token=${await t.token('alice')}`)
    r.socket.destroy()
    expect(r.status).toBe(101)
    expect(r.headers['x-request-id']).toBeTruthy()
    expect(r.headers['x-api-version']).toBe('v2')
    expect(r.headers['upgrade']?.toLowerCase()).toBe('websocket')
  })

  it('closes a socket opened with an API key when the key is revoked', async () => {
    const created = await t
      .as('revoker')
      .post('/api/v1/app/api-keys', { name: 'short-lived', scopes: ['projects:read'] })
    const { client } = await WsClient.open(s.url(created.body.key))
    open.push(client)
    expect((await t.as('revoker').delete(`/api/v1/app/api-keys/${created.body.id}`)).status).toBe(204)
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' })
    expect((await client.closed).code).toBe(1008)
  })

  it('refuses a missing or bad token before the upgrade with 401 in the error shape', async () => {
    for (const path of [
      '/api/v1/app/ws',
      '/api/v1/app/ws?token=not-a-jwt',
      '/api/v1/app/ws?token=osk_' + 'x'.repeat(40),
    ]) {
      const r = await rawUpgrade(s.server.port, path)
      r.socket.destroy()
      expect(r.status).toBe(401)
      expect(JSON.parse(r.body).error.code).toBe('AUTHENTICATION_ERROR')
      expect(r.headers['x-request-id']).toBeTruthy()
    }
    const v2 = await rawUpgrade(s.server.port, '/api/v2/app/ws?token=bad')
    v2.socket.destroy()
    expect(JSON.parse(v2.body).meta.version).toBe('v2')
    // A browser client sees a failed connection, never an open socket.
    await expect(WsClient.open(s.url('bad'))).rejects.toThrow()
  })

  it('answers a plain GET on the socket path with 426 Upgrade Required and documents the route', async () => {
    const res = await t.as('alice').get('/api/v1/app/ws')
    expect(res.status).toBe(426)
    expect(res.body.error.code).toBe('UPGRADE_REQUIRED')
    expect(res.headers.get('upgrade')).toBe('websocket')
    const spec = (await t.get('/openapi.json')).body
    expect(spec.paths['/api/v1/app/ws'].get.tags).toEqual(['WebSocket'])
    expect(spec.paths['/api/v2/app/ws'].get.security).toEqual([{ bearerAuth: [] }])
  })
})

describe('websocket: channels', () => {
  it('delivers a channel message to the other subscribers with sender_id, not back to the sender', async () => {
    const project = await newProject('alice')
    const channel = `project:${project}`
    const { client: a } = await connect('alice')
    const { client: b } = await connect('alice')
    expect((await a.subscribe(channel)).type).toBe('subscribed')
    expect((await b.subscribe(channel)).type).toBe('subscribed')
    a.send({ type: 'message', channel, data: { action: 'update', content: 'Hello team!' } })
    const got = await b.next((f) => f.type === 'channel_message')
    expect(got).toMatchObject({
      type: 'channel_message',
      channel,
      data: { action: 'update', content: 'Hello team!' },
      sender_id: 'alice',
    })
    expect(new Date(got.timestamp).toISOString()).toBe(got.timestamp)
    expect(await a.collect((f) => f.type === 'channel_message', 200)).toEqual([])
  })

  it("refuses another user's project with FORBIDDEN and unknown kinds with INVALID_CHANNEL", async () => {
    const channel = `project:${await newProject('alice')}`
    const { client: bob } = await connect('bob')
    expect(await bob.subscribe(channel)).toMatchObject({ type: 'error', code: 'FORBIDDEN', channel })
    expect(await bob.subscribe('nope:1')).toMatchObject({ type: 'error', code: 'INVALID_CHANNEL' })
    bob.send({ type: 'subscribe', channel: 'no-colon' })
    expect(await bob.next((f) => f.type === 'error')).toMatchObject({ code: 'INVALID_CHANNEL' })
    expect(await bob.subscribe('user:alice')).toMatchObject({ type: 'error', code: 'FORBIDDEN' })
    expect(await bob.subscribe('user:bob')).toMatchObject({ type: 'subscribed' })
    // Sending needs a subscription.
    bob.send({ type: 'message', channel, data: 'hi' })
    expect(await bob.next((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN', channel })
  })

  it('stops delivering after unsubscribe', async () => {
    const channel = `project:${await newProject('alice')}`
    const { client: a } = await connect('alice')
    const { client: b } = await connect('alice')
    await a.subscribe(channel)
    await b.subscribe(channel)
    b.send({ type: 'unsubscribe', channel })
    expect(await b.next((f) => f.type === 'unsubscribed')).toMatchObject({ channel })
    a.send({ type: 'message', channel, data: 1 })
    await ws.broadcastToChannel(channel, { type: 'update', data: 2 })
    expect(await b.collect((f) => f.channel === channel, 200)).toEqual([])
  })

  it('answers malformed frames with BAD_MESSAGE and keeps the socket', async () => {
    const { client } = await connect('carol')
    for (const bad of [
      '{not json',
      '[1,2]',
      '{"type":"dance"}',
      '{"type":"subscribe"}',
      '{"type":"message","channel":"user:carol"}',
    ]) {
      client.send(bad)
      expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE' })
    }
    client.ws.send(new Uint8Array([1, 2, 3]))
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE' })
    client.send({ type: 'ping' })
    expect((await client.next()).type).toBe('pong')
  })

  it('answers an oversized message with MESSAGE_TOO_LARGE and keeps the socket', async () => {
    const { client } = await connect('carol')
    await client.subscribe('user:carol')
    client.send({ type: 'message', channel: 'user:carol', data: 'é'.repeat(600) })
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'MESSAGE_TOO_LARGE', limit: 1024 })
    client.send({ type: 'ping' })
    expect((await client.next()).type).toBe('pong')
  })

  it('limits subscriptions per connection', async () => {
    const { client } = await connect('alice')
    const channels = ['user:alice', `project:${await newProject('alice')}`, `project:${await newProject('alice')}`]
    for (const c of channels) expect((await client.subscribe(c)).type).toBe('subscribed')
    const extra = `project:${await newProject('alice')}`
    expect(await client.subscribe(extra)).toMatchObject({ type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS' })
  })
})

describe('websocket: rate limit', () => {
  it('answers a flood with one RATE_LIMITED per second and recovers', async () => {
    const { client } = await connect('dave')
    for (let i = 0; i < 30; i++) client.send({ type: 'ping' })
    const limited = await client.next((f) => f.type === 'error')
    expect(limited.code).toBe('RATE_LIMITED')
    expect(limited.retry_after_ms).toBeGreaterThanOrEqual(0)
    const frames = await client.collect(() => true, 300)
    expect(frames.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(20)
    expect(frames.filter((f) => f.type === 'error').length).toBe(0)
    await Bun.sleep(1000)
    client.send({ type: 'ping' })
    expect((await client.next()).type).toBe('pong')
  })

  it('closes a connection that stays over the limit for WS_RATE_LIMIT_STRIKES seconds in a row with 1008', async () => {
    const { client } = await connect('dave')
    for (let i = 0; i < 25; i++) client.send({ type: 'ping' })
    expect((await client.next((f) => f.type === 'error')).code).toBe('RATE_LIMITED')
    await Bun.sleep(1050)
    for (let i = 0; i < 25; i++) client.send({ type: 'ping' })
    expect((await client.closed).code).toBe(1008)
  })

  it('closes an abusive burst with 1008 at once', async () => {
    const { client } = await connect('dave')
    for (let i = 0; i < 150; i++) client.send({ type: 'ping' })
    expect((await client.closed).code).toBe(1008)
  })
})

describe('websocket: server API', () => {
  it('sendToUser reaches every socket of that user and nobody else', async () => {
    const { client: a1 } = await connect('erin')
    const { client: a2 } = await connect('erin', 'v2')
    const { client: other } = await connect('frank')
    await ws.sendToUser('erin', { type: 'notification', data: { title: 'New comment', message: 'Someone commented' } })
    for (const c of [a1, a2]) {
      expect(await c.next((f) => f.type === 'notification')).toEqual({
        type: 'notification',
        data: { title: 'New comment', message: 'Someone commented' },
      })
    }
    expect(await other.collect((f) => f.type === 'notification', 200)).toEqual([])
  })

  it('broadcastToChannel reaches the channel subscribers', async () => {
    const channel = `project:${await newProject('alice')}`
    const { client } = await connect('alice')
    await client.subscribe(channel)
    await ws.broadcastToChannel(channel, { type: 'update', data: { n: 1 } })
    expect(await client.next((f) => f.type === 'update')).toMatchObject({ channel, data: { n: 1 } })
    await expect(ws.broadcastToChannel('bad channel', {})).rejects.toThrow()
  })

  it("turns billing's subscription.updated into a notification for that user", async () => {
    const { client } = await connect('gina')
    await t.app.events.publish('subscription.updated', { ...subscription, user_id: 'gina' })
    const n = await client.next((f) => f.type === 'notification')
    expect(n.data).toMatchObject({
      title: 'Subscription updated',
      event: 'subscription.updated',
      subscription: { status: 'active', plan: 'pro' },
    })
  })

  it('meters websocket_messages per user and exposes connection metrics', async () => {
    const { client } = await connect('hank')
    await client.subscribe('user:hank')
    client.send({ type: 'message', channel: 'user:hank', data: 1 })
    await until(
      () => metered.filter((e) => e.userId === 'hank' && e.metric === 'websocket_messages').length >= 2,
      2000,
      'meter events',
    )
    const text = (await t.get('/api/v1/public/metrics')).text
    expect(text).toMatch(/omnistack_websocket_connections \d+/)
    expect(text).toContain('omnistack_websocket_messages_total')
  })
})

describe('websocket: re-authorisation', () => {
  it('sends project.updated with the project to the subscribers of a project updated over HTTP', async () => {
    const project = await newProject('alice')
    const channel = `project:${project}`
    const { client } = await connect('alice')
    const { client: other } = await connect('alice')
    await client.subscribe(channel)
    const res = await t.as('alice').patch(`/api/v1/app/projects/${project}`, { name: 'Renamed live' })
    expect(res.status).toBe(200)
    const event = await client.next((f) => f.type === 'project.updated')
    expect(event).toMatchObject({
      type: 'project.updated',
      channel,
      data: { id: project, name: 'Renamed live', owner_id: 'alice' },
      changed: ['name'],
    })
    expect(event.data).toEqual(res.body)
    expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp)
    // Once per update, only to the channel's subscribers; the channel stays open.
    expect(await client.collect((f) => f.type === 'project.updated', 200)).toEqual([])
    expect(await other.collect((f) => f.type === 'project.updated', 0)).toEqual([])
    expect(await client.collect((f) => f.type === 'error' || f.type === 'channel_closed', 0)).toEqual([])
    await ws.broadcastToChannel(channel, { type: 'update', data: 'still subscribed' })
    expect(await client.next((f) => f.type === 'update')).toMatchObject({ channel, data: 'still subscribed' })
  })

  it('sends project.deleted, then closes the channel with channel_closed (not FORBIDDEN)', async () => {
    const project = await newProject('alice')
    const channel = `project:${project}`
    const { client } = await connect('alice')
    await client.subscribe(channel)
    expect((await t.as('alice').delete(`/api/v1/app/projects/${project}`)).status).toBe(204)
    const deleted = await client.next((f) => f.type === 'project.deleted' || f.type === 'channel_closed')
    expect(deleted).toMatchObject({ type: 'project.deleted', channel, data: { id: project } })
    expect(await client.next()).toMatchObject({ type: 'channel_closed', channel, reason: 'deleted' })
    expect(await client.collect((f) => f.type === 'error' || f.type === 'unsubscribed', 200)).toEqual([])
    await ws.broadcastToChannel(channel, { type: 'update', data: 'after delete' })
    expect(await client.collect((f) => f.type === 'update', 200)).toEqual([])
    // The socket stays open; the deleted project is refused like a missing one.
    expect(await client.subscribe(channel)).toMatchObject({ type: 'error', code: 'FORBIDDEN' })
  })

  it('closes the sockets of a deactivated user with 1008', async () => {
    const { client } = await connect('ivan')
    await t.app.db.sql`update users set is_active = false where id = 'ivan'`
    await t.app.events.publish('user.changed', { id: 'ivan' }, { broadcast: true })
    expect(await client.next((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' })
    expect((await client.closed).code).toBe(1008)
  })

  it('closes a JWT session with 4001 when its token expires', async () => {
    const token = await t.token('judy', { expiresIn: '3s' })
    const { client } = await WsClient.open(s.url(token))
    expect(await client.next((f) => f.type === 'error', 8000)).toMatchObject({ code: 'TOKEN_EXPIRED' })
    expect((await client.closed).code).toBe(4001)
  })
})

/** Two replicas sharing Redis (TEST_REDIS_URL): every publish reaches every subscriber on every replica exactly once. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import projects from '../../projects/index.ts'
import websocket from '../index.ts'
import { startReplicas, WsClient, type Replicas } from './helpers.ts'

const url = process.env.TEST_REDIS_URL
// Other test processes may share this Redis: every user id of this run is unique.
const run = crypto.randomUUID().slice(0, 8)
const u = (name: string) => `${name}-${run}`
const subscription = {
  user_id: '',
  source: 'stripe' as const,
  plan: 'pro',
  status: 'active',
  has_active_subscription: true,
  current_period_end: null,
  cancel_at_period_end: false,
}

describe.skipIf(!url)('websocket across two replicas sharing Redis', () => {
  let r: Replicas
  const clients: WsClient[] = []
  const connect = async (replica: number, user: string) => {
    const { client } = await WsClient.open(r.apps[replica]!.url(await r.token(user)))
    clients.push(client)
    return client
  }
  const service = (replica: number) => r.apps[replica]!.app.service(websocket)
  const newProject = async (owner: string) => {
    const res = await r.apps[0]!.app.handle(
      new Request('http://localhost/api/v1/app/projects', {
        method: 'POST',
        headers: { authorization: `Bearer ${await r.token(owner)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'shared' }),
      }),
    )
    return ((await res.json()) as { id: string }).id
  }

  beforeAll(async () => {
    r = await startReplicas(2, { plugins: [projects, websocket], env: { REDIS_URL: url! } })
  }, 30_000)

  afterAll(async () => {
    for (const c of clients) c.close()
    await r?.close()
  })

  it('a message sent on A reaches subscribers on A and B exactly once each, in order', async () => {
    const alice = u('alice')
    const channel = `project:${await newProject(alice)}`
    const sender = await connect(0, alice)
    const onA = await connect(0, alice)
    const onB = await connect(1, alice)
    for (const c of [sender, onA, onB]) expect((await c.subscribe(channel)).type).toBe('subscribed')
    for (let i = 0; i < 15; i++) sender.send({ type: 'message', channel, data: { i } })
    for (const c of [onA, onB]) {
      const got = []
      for (let i = 0; i < 15; i++) got.push((await c.next((f) => f.type === 'channel_message')).data.i)
      expect(got).toEqual([...Array(15).keys()])
      expect(await c.collect((f) => f.type === 'channel_message', 300)).toEqual([])
    }
    expect(await sender.collect((f) => f.type === 'channel_message', 0)).toEqual([])
  })

  it("sendToUser on A reaches the user's sockets on both replicas once", async () => {
    const bob = u('bob')
    const onA = await connect(0, bob)
    const onB = await connect(1, bob)
    await service(0).sendToUser(bob, { type: 'notification', data: { title: 'hi' } })
    for (const c of [onA, onB]) {
      expect((await c.next((f) => f.type === 'notification')).data).toEqual({ title: 'hi' })
      expect(await c.collect((f) => f.type === 'notification', 300)).toEqual([])
    }
  })

  it('broadcastToChannel on B reaches a subscriber on A', async () => {
    const carol = u('carol')
    const channel = `project:${await newProject(carol)}`
    const onA = await connect(0, carol)
    await onA.subscribe(channel)
    await service(1).broadcastToChannel(channel, { type: 'update', data: 42 })
    expect(await onA.next((f) => f.type === 'update')).toMatchObject({ channel, data: 42 })
  })

  it('a project updated through A reaches its subscribers on A and B once each as project.updated', async () => {
    const fay = u('fay')
    const project = await newProject(fay)
    const channel = `project:${project}`
    const onA = await connect(0, fay)
    const onB = await connect(1, fay)
    for (const c of [onA, onB]) await c.subscribe(channel)
    const res = await r.apps[0]!.app.handle(
      new Request(`http://localhost/api/v1/app/projects/${project}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${await r.token(fay)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ description: 'live' }),
      }),
    )
    expect(res.status).toBe(200)
    for (const c of [onA, onB]) {
      expect(await c.next((f) => f.type === 'project.updated')).toMatchObject({
        channel,
        data: { id: project, description: 'live' },
        changed: ['description'],
      })
      expect(await c.collect((f) => f.type === 'project.updated', 300)).toEqual([])
    }
  })

  it('a project deleted through A sends project.deleted then channel_closed to its subscribers on B', async () => {
    const dan = u('dan')
    const project = await newProject(dan)
    const channel = `project:${project}`
    const onB = await connect(1, dan)
    await onB.subscribe(channel)
    const res = await r.apps[0]!.app.handle(
      new Request(`http://localhost/api/v1/app/projects/${project}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await r.token(dan)}` },
      }),
    )
    expect(res.status).toBe(204)
    expect(await onB.next((f) => f.type === 'project.deleted' || f.type === 'channel_closed')).toMatchObject({
      type: 'project.deleted',
      channel,
      data: { id: project },
    })
    expect(await onB.next((f) => f.type === 'channel_closed')).toMatchObject({ channel, reason: 'deleted' })
    expect(await onB.collect((f) => f.type === 'project.deleted' || f.type === 'error', 300)).toEqual([])
    await service(0).broadcastToChannel(channel, { type: 'update', data: 'late' })
    expect(await onB.collect((f) => f.type === 'update', 300)).toEqual([])
  })

  it('subscription.updated becomes one notification per socket, whether or not billing broadcasts it', async () => {
    const erin = u('erin')
    const onA = await connect(0, erin)
    const onB = await connect(1, erin)
    await r.apps[0]!.app.events.publish(
      'subscription.updated',
      { ...subscription, user_id: erin, status: 'active' },
      { broadcast: true },
    )
    await r.apps[1]!.app.events.publish('subscription.updated', { ...subscription, user_id: erin, status: 'canceled' })
    for (const c of [onA, onB]) {
      const got = await c.collect((f) => f.type === 'notification', 500)
      expect(got.map((f) => f.data.subscription.status).sort()).toEqual(['active', 'canceled'])
    }
  })
})

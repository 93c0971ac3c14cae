/** A private redis-server killed and restarted under two replicas: local delivery goes on, cross-replica delivery resumes. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { captureLogs, freePort, startRedis } from '../../../core/testing/services.ts'
import websocket from '../index.ts'
import { startReplicas, until, WsClient, type Replicas } from './helpers.ts'

const hasRedis = Bun.which('redis-server') !== null

describe.skipIf(!hasRedis)('websocket when Redis goes away', () => {
  let r: Replicas
  let redis: Awaited<ReturnType<typeof startRedis>>
  let port: number
  const logs = captureLogs('warn')
  const clients: WsClient[] = []

  beforeAll(async () => {
    port = await freePort()
    redis = await startRedis(port)
    r = await startReplicas(2, {
      plugins: [websocket],
      env: { REDIS_URL: `redis://127.0.0.1:${port}` },
      logger: logs.logger,
    })
  }, 30_000)

  afterAll(async () => {
    for (const c of clients) c.close()
    await r?.close()
    redis?.kill('SIGKILL')
  })

  it('logs the outage, keeps local delivery, and crosses replicas again once Redis is back', async () => {
    const connect = async (replica: number) => {
      const { client } = await WsClient.open(r.apps[replica]!.url(await r.token('olga')))
      clients.push(client)
      await client.subscribe('user:olga')
      return client
    }
    const sender = await connect(0)
    const local = await connect(0)
    const remote = await connect(1)
    const say = (n: number) => sender.send({ type: 'message', channel: 'user:olga', data: { n } })

    say(1)
    for (const c of [local, remote]) expect((await c.next((f) => f.type === 'channel_message')).data.n).toBe(1)

    redis.kill('SIGKILL')
    await redis.exited
    await until(() => logs.lines.some((l) => String(l.message).includes('Redis unreachable')), 5000, 'the outage log')
    say(2)
    expect((await local.next((f) => f.type === 'channel_message')).data.n).toBe(2)

    redis = await startRedis(port)
    // Reconnect and resubscribe take up to a second or two: keep talking until B hears again.
    let n = 100
    await until(
      async () => {
        say(++n)
        return remote.frames.some((f) => f.type === 'channel_message' && f.data.n >= 100)
      },
      15_000,
      'cross-replica delivery to resume',
    )
    await Bun.sleep(300)
    local.frames.length = 0
    remote.frames.length = 0
    say(999)
    for (const c of [local, remote]) {
      expect((await c.next((f) => f.type === 'channel_message' && f.data.n === 999)).data.n).toBe(999)
      expect(await c.collect((f) => f.type === 'channel_message' && f.data.n === 999, 300)).toEqual([])
    }
  }, 40_000)
})

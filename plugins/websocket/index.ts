/** WebSocket: realtime channels `<kind>:<id>` that fan out across replicas (docs/plugins/websocket.md). */
import { definePlugin, env } from '../../core/index.ts'
import { createEndpoint } from './connection.ts'
import { createHub } from './hub.ts'
import { watchResources } from './watch.ts'
import { createWebsocketService } from './service.ts'

export type { WebsocketService, DeliveryOptions } from './service.ts'
export type { RealtimeEvent, WsErrorCode } from './protocol.ts'

export default definePlugin({
  name: 'websocket',
  tag: { name: 'WebSocket', description: 'Realtime channels over WebSocket' },
  config: {
    maxMessageBytes: env.int('WS_MAX_MESSAGE_BYTES', {
      default: 65_536,
      min: 128,
      max: 4_194_304,
      description: 'largest client message (MESSAGE_TOO_LARGE above)',
    }),
    messagesPerSecond: env.int('WS_RATE_LIMIT_PER_SECOND', {
      default: 20,
      min: 1,
      description: 'client messages per connection per second (RATE_LIMITED above)',
    }),
    rateLimitStrikes: env.int('WS_RATE_LIMIT_STRIKES', {
      default: 5,
      min: 1,
      description: 'consecutive rate-limited seconds before close 1008',
    }),
    maxSubscriptions: env.int('WS_MAX_SUBSCRIPTIONS', { default: 100, min: 1, description: 'channels per connection' }),
    idleTimeoutSeconds: env.int('WS_IDLE_TIMEOUT_SECONDS', {
      default: 120,
      min: 1,
      max: 960,
      description: 'close after this long without a frame or pong (pings go out before)',
    }),
    backpressureBytes: env.int('WS_BACKPRESSURE_BYTES', {
      default: 1_048_576,
      min: 1024,
      description: 'bytes queued for a slow reader before it is closed',
    }),
    closeOnTokenExpiry: env.bool('WS_CLOSE_ON_TOKEN_EXPIRY', {
      default: true,
      description: 'close a JWT session with 4001 when its token expires',
    }),
  },
  // One hub, endpoint and service per app (two replicas in one test process are two apps).
  setup: (ctx) => {
    const { events, logger, metrics, meter } = ctx
    const hub = createHub(events, logger, metrics)
    const service = createWebsocketService(hub, meter)
    const endpoint = createEndpoint({
      hub,
      config: ctx.config,
      channels: ctx.channels,
      users: ctx.auth.users,
      meter,
      metrics,
      logger,
    })
    const offs: (() => void)[] = []
    return {
      service,
      websocket: (server) => {
        hub.attach(server)
        return endpoint.endpoint
      },
      // At start every plugin has registered its channel kinds: their events are watched from here.
      start: () => void offs.push(...watchResources(ctx, hub, service, endpoint)),
      stop: () => {
        for (const off of offs.splice(0)) off()
        for (const conn of hub.conns) clearTimeout(conn.expiry)
        hub.close()
      },
    }
  },
})

/** WebSocket: realtime channels `<kind>:<id>` that fan out across replicas (seed 004 "WebSocket", SPEC §9). */
import { definePlugin, env, type PluginContext } from '../../core/index.ts'
import { createEndpoint, type Endpoint } from './connection.ts'
import { createHub, type Hub } from './hub.ts'
import { watchResources } from './watch.ts'
import { createWebsocketService, type WebsocketService } from './service.ts'

declare module '../../core/plugin/types.ts' {
  interface PluginServices {
    websocket: WebsocketService
  }
}

export type { WebsocketService, DeliveryOptions } from './service.ts'
export type { RealtimeEvent, WsErrorCode } from './protocol.ts'

interface State {
  hub: Hub
  endpoint?: Endpoint
  offs: (() => void)[]
}

// One state per app (two replicas in one test process are two apps, two contexts).
const states = new WeakMap<object, State>()
const stateOf = (ctx: PluginContext<any>): State => {
  let s = states.get(ctx)
  if (!s) states.set(ctx, (s = { hub: createHub(ctx.events, ctx.logger, ctx.metrics), offs: [] }))
  return s
}

export default definePlugin({
  name: 'websocket',
  tag: { name: 'WebSocket', description: 'Realtime channels over WebSocket' },
  config: {
    maxMessageBytes: env.int('WS_MAX_MESSAGE_BYTES', { default: 65_536, min: 128, max: 4_194_304, description: 'largest client message (MESSAGE_TOO_LARGE above)' }),
    messagesPerSecond: env.int('WS_RATE_LIMIT_PER_SECOND', { default: 20, min: 1, description: 'client messages per connection per second (RATE_LIMITED above)' }),
    rateLimitStrikes: env.int('WS_RATE_LIMIT_STRIKES', { default: 5, min: 1, description: 'consecutive rate-limited seconds before close 1008' }),
    maxSubscriptions: env.int('WS_MAX_SUBSCRIPTIONS', { default: 100, min: 1, description: 'channels per connection' }),
    idleTimeoutSeconds: env.int('WS_IDLE_TIMEOUT_SECONDS', { default: 120, min: 1, max: 960, description: 'close after this long without a frame or pong (pings go out before)' }),
    backpressureBytes: env.int('WS_BACKPRESSURE_BYTES', { default: 1_048_576, min: 1024, description: 'bytes queued for a slow reader before it is closed' }),
    closeOnTokenExpiry: env.bool('WS_CLOSE_ON_TOKEN_EXPIRY', { default: true, description: 'close a JWT session with 4001 when its token expires' }),
  },
  provides: (ctx) => createWebsocketService(stateOf(ctx).hub, ctx.meter),
  websocket: (ctx, server) => {
    const state = stateOf(ctx)
    state.hub.attach(server)
    state.endpoint = createEndpoint({
      hub: state.hub,
      config: ctx.config,
      channels: ctx.channels,
      users: ctx.auth.users,
      meter: ctx.meter,
      metrics: ctx.metrics,
      logger: ctx.logger,
    })
    return state.endpoint.endpoint
  },
  start: (ctx) => {
    const state = stateOf(ctx)
    state.offs.push(...watchResources(ctx, state.hub, createWebsocketService(state.hub, ctx.meter), state.endpoint!))
  },
  stop: (ctx) => {
    const state = stateOf(ctx)
    for (const off of state.offs.splice(0)) off()
    for (const conn of state.hub.conns) clearTimeout(conn.expiry)
    state.hub.close()
  },
})

/** Realtime (WebSocket) plumbing: the endpoint contract plugins implement and the runtime adapters serve. */
export { createSocketRouter, type HandleFn, type SocketRouter } from './router.ts'
export { createLocalHub, type HubMember, type LocalHub } from './local-hub.ts'
export {
  mergeLimits,
  SOCKET_DEFAULTS,
  type RealtimeSocket,
  type SocketAcceptance,
  type SocketAcceptInput,
  type SocketEndpoint,
  type SocketLimits,
  type SocketServer,
} from '../plugin/index.ts'
export { bunSockets, type BunSockets } from './bun.ts'
export { denoSockets, type DenoSockets, type DenoUpgrader } from './deno.ts'

/** The WebSocket endpoint contract: what a plugin declares and what the runtime adapters serve. */
import type { Principal } from '../auth/index.ts'
import type { ApiVersion } from '../http/index.ts'

/**
 * One open socket as an endpoint sees it. Bun's ServerWebSocket satisfies it as is (no wrapper
 * on the hot path); the Deno adapter wraps its WebSocket with an in-process topic hub.
 */
export interface RealtimeSocket<D = unknown> {
  readonly data: D
  readonly remoteAddress: string
  /** Bytes sent; -1 when queued under backpressure; 0 when dropped (socket closing). */
  send(text: string): number
  close(code?: number, reason?: string): void
  /** Join a topic of this server's native pub/sub. */
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  isSubscribed(topic: string): boolean
  /** To every subscriber of `topic` on this server except this socket. */
  publish(topic: string, text: string): number
  getBufferedAmount(): number
}

/** Fan-out to every socket of this server subscribed to `topic` (Bun: server.publish). */
export interface SocketServer {
  publish(topic: string, text: string): void
}

/** Transport limits the runtime enforces before a frame reaches the endpoint. */
export interface SocketLimits {
  /** Larger frames are refused by the runtime with close 1009. @default 1048576 */
  maxPayloadBytes?: number
  /** Closed when nothing (not even a pong) arrives for this long; pings go out before. @default 120 */
  idleTimeoutSeconds?: number
  /** A reader this far behind is closed instead of buffering more. @default 1048576 */
  backpressureBytes?: number
}

/** What the core knows about an upgrade request once the pipeline has authenticated it. */
export interface SocketAcceptInput {
  principal: Principal
  version: ApiVersion
  clientIp: string
  requestId: string
  /** The request as the pipeline saw it (a `?token=` is in `authorization` by now). */
  request: Request
}

/**
 * A plugin's WebSocket endpoint, mounted at `/api/{v}/app<path>` (and unversioned `/api/app<path>`).
 * The upgrade request runs through the whole HTTP pipeline first (`?token=` accepted as the
 * bearer), so a bad token is refused before the upgrade with the contract's 401.
 */
export interface SocketEndpoint<D extends object = object> {
  /** Path under the app zone, e.g. '/ws'. */
  path: string
  detail?: { summary?: string; description?: string }
  limits?: SocketLimits
  /** Per-socket data, or throw an AppError to refuse the upgrade with that error. */
  accept(input: SocketAcceptInput): D | Promise<D>
  open?(ws: RealtimeSocket<D>): void
  message?(ws: RealtimeSocket<D>, message: string | Uint8Array): void
  close?(ws: RealtimeSocket<D>, code: number, reason: string): void
}

export type SocketAcceptance =
  | { ok: true; endpoint: SocketEndpoint<any>; data: object; headers: Record<string, string> }
  | { ok: false; response: Response }

export const SOCKET_DEFAULTS: Required<SocketLimits> = {
  maxPayloadBytes: 1_048_576,
  idleTimeoutSeconds: 120,
  backpressureBytes: 1_048_576,
}

/** One set of limits for a server with several endpoints: the most permissive of each. */
export function mergeLimits(endpoints: readonly SocketEndpoint<any>[]): Required<SocketLimits> {
  const pick = (k: keyof SocketLimits) => Math.max(...endpoints.map((e) => e.limits?.[k] ?? SOCKET_DEFAULTS[k]))
  return {
    maxPayloadBytes: pick('maxPayloadBytes'),
    idleTimeoutSeconds: pick('idleTimeoutSeconds'),
    backpressureBytes: pick('backpressureBytes'),
  }
}

/**
 * Deno side of plugin WebSockets (docs/performance-notes.md#what-deno-does-not-have: no app.ws on Deno): Deno.upgradeWebSocket after the
 * pipeline accepted, an in-process topic hub for fan-out (single replica), 1001 on shutdown.
 */
import { createLocalHub, type HubMember, type LocalHub } from './local-hub.ts'
import type { SocketRouter } from './router.ts'
import { mergeLimits, type RealtimeSocket, type SocketEndpoint } from '../plugin/index.ts'

export interface DenoUpgrader {
  upgradeWebSocket(request: Request, options?: { idleTimeout?: number }): { socket: WebSocket; response: Response }
}

export interface DenoSockets {
  wants(request: Request): boolean
  upgrade(request: Request, peerIp: string): Promise<Response>
  closeAll(code: number, reason: string): void
}

class DenoSocket implements RealtimeSocket<object>, HubMember {
  readonly topics = new Set<string>()
  constructor(
    readonly raw: WebSocket,
    readonly data: object,
    readonly remoteAddress: string,
    private readonly hub: LocalHub<DenoSocket>,
    private readonly backpressure: number,
  ) {}
  sendText(text: string) {
    this.send(text)
  }
  send(text: string) {
    if (this.raw.readyState !== WebSocket.OPEN) return 0
    // Same rule as Bun's closeOnBackpressureLimit: a reader this far behind is dropped.
    if (this.raw.bufferedAmount > this.backpressure) {
      this.close(1008, 'Backpressure limit exceeded')
      return 0
    }
    this.raw.send(text)
    return text.length
  }
  close(code?: number, reason?: string) {
    try {
      this.raw.close(code, reason)
    } catch {
      this.raw.close()
    }
  }
  subscribe(topic: string) {
    this.topics.add(topic)
    this.hub.add(topic, this)
  }
  unsubscribe(topic: string) {
    this.topics.delete(topic)
    this.hub.remove(topic, this)
  }
  isSubscribed(topic: string) {
    return this.topics.has(topic)
  }
  publish(topic: string, text: string) {
    return this.hub.publishFrom(topic, text, this)
  }
  getBufferedAmount() {
    return this.raw.bufferedAmount
  }
  leaveAll() {
    for (const t of this.topics) this.hub.remove(t, this)
    this.topics.clear()
  }
}

export function denoSockets(router: SocketRouter, deno: DenoUpgrader): DenoSockets | undefined {
  if (router.endpoints.length === 0) return undefined
  const limits = mergeLimits(router.endpoints)
  const hub = createLocalHub<DenoSocket>()
  router.attach(hub)
  const open = new Set<DenoSocket>()

  return {
    wants: (request) => router.match(request) !== undefined,
    async upgrade(request, peerIp) {
      const r = await router.accept(request, peerIp)
      if (!r.ok) return r.response
      const endpoint: SocketEndpoint<any> = r.endpoint
      const { socket, response } = deno.upgradeWebSocket(request, { idleTimeout: limits.idleTimeoutSeconds })
      socket.binaryType = 'arraybuffer'
      for (const [k, v] of Object.entries(r.headers)) {
        try {
          response.headers.set(k, v)
        } catch {
          break // immutable headers on this Deno version: the 101 goes out without them
        }
      }
      const ws = new DenoSocket(socket, r.data, peerIp, hub, limits.backpressureBytes)
      socket.onopen = () => {
        open.add(ws)
        endpoint.open?.(ws)
      }
      socket.onmessage = (e: MessageEvent) => {
        const data = typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer)
        const size = typeof data === 'string' ? data.length : data.byteLength
        if (size > limits.maxPayloadBytes) return ws.close(1009, 'Message too big')
        endpoint.message?.(ws, data)
      }
      socket.onclose = (e: CloseEvent) => {
        if (!open.delete(ws)) return
        ws.leaveAll()
        endpoint.close?.(ws, e.code, e.reason)
      }
      socket.onerror = () => {}
      return response
    },
    closeAll(code, reason) {
      for (const ws of [...open]) ws.close(code, reason)
    },
  }
}

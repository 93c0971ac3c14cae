/** Test helpers: loopback servers with the websocket plugin, a real WebSocket client with a message queue, raw upgrades. */
import { connect } from 'node:net'
import { createApp, CORE_MIGRATIONS, type AnyPlugin, type App, type Logger } from '../../../core/index.ts'
import { serve, type RunningServer } from '../../../core/runtime/bun.ts'
import { createTestDatabase } from '../../../core/testing/database.ts'
import { signTestToken, TEST_JWT_SECRET } from '../../../core/testing/index.ts'

export type Frame = Record<string, any>

/** A Bun WebSocket client whose frames queue up until a test takes them. */
export class WsClient {
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = []

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })),
    )
    ws.addEventListener('message', (e) => {
      const frame = JSON.parse(String(e.data)) as Frame
      const i = this.waiters.findIndex((w) => w.pred(frame))
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(frame)
      else this.frames.push(frame)
    })
  }

  /** Opens and waits for the `connected` event; `headers` go on the upgrade request (Bun's client). */
  static async open(
    url: string,
    timeoutMs = 5000,
    headers?: Record<string, string>,
  ): Promise<{ client: WsClient; connected: Frame }> {
    const ws = headers ? new WebSocket(url, { headers } as unknown as string[]) : new WebSocket(url)
    const client = new WsClient(ws)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no open on ${url}`)), timeoutMs)
      ws.addEventListener('open', () => (clearTimeout(timer), resolve()))
      ws.addEventListener('error', () => (clearTimeout(timer), reject(new Error(`connect failed: ${url}`))))
    })
    return { client, connected: await client.next((f) => f.type === 'connected') }
  }

  send(message: unknown) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** The first frame (queued or coming) that matches; it is consumed. */
  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!)
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (f: Frame) => {
          clearTimeout(timer)
          resolve(f)
        },
      }
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(new Error(`no matching frame in ${timeoutMs} ms; queued: ${JSON.stringify(this.frames).slice(0, 500)}`))
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  async subscribe(channel: string) {
    this.send({ type: 'subscribe', channel })
    return this.next((f) => f.channel === channel && (f.type === 'subscribed' || f.type === 'error'))
  }

  /** Frames matching `pred` that arrive within `ms` (queued ones included, all consumed). */
  async collect(pred: (f: Frame) => boolean, ms: number): Promise<Frame[]> {
    await Bun.sleep(ms)
    const out = this.frames.filter(pred)
    for (const f of out) this.frames.splice(this.frames.indexOf(f), 1)
    return out
  }

  close() {
    this.ws.close()
  }
}

export interface Served {
  app: App
  server: RunningServer
  /** ws://127.0.0.1:<port>/api/<version>/app/ws?token=... */
  url(token?: string, version?: string): string
}

export function serveApp(app: App): Served {
  const server = serve(app, { port: 0, hostname: '127.0.0.1', signals: false })
  return {
    app,
    server,
    url: (token, version = 'v1') =>
      `ws://127.0.0.1:${server.port}/api${version ? `/${version}` : ''}/app/ws${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`,
  }
}

export interface RawUpgrade {
  status: number
  headers: Record<string, string>
  body: string
  /** The TCP socket, left open after a 101 (for idle and backpressure tests). */
  socket: import('node:net').Socket
}

/** A hand-written upgrade request over TCP: shows the refusal's status and body, or keeps a socket that never reads. */
export function rawUpgrade(
  port: number,
  path: string,
  options: { read?: boolean; headers?: Record<string, string> } = {},
): Promise<RawUpgrade> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine, ...lines] = buf.slice(0, end).split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim()
      const status = Number(statusLine!.split(' ')[1])
      const length = Number(headers['content-length'] ?? 0)
      if (status !== 101 && buf.length < end + 4 + length) return
      socket.off('data', onData)
      if (status === 101 && options.read === false) socket.pause()
      resolve({ status, headers, body: buf.slice(end + 4, end + 4 + length), socket })
    }
    socket.on('data', onData)
    socket.on('error', reject)
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
        Object.entries(options.headers ?? {})
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        '\r\n',
    )
  })
}

/** Polls `check` until it returns true. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition') {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

export interface Replicas {
  apps: Served[]
  /** A token for `user` signed with the test secret (valid on every replica). */
  token(user: string): Promise<string>
  close(): Promise<void>
}

/** `n` apps sharing one database (like replicas behind a load balancer), each on its own loopback port. */
export async function startReplicas(
  n: number,
  options: { plugins: AnyPlugin[]; env: Record<string, string>; logger?: Logger },
): Promise<Replicas> {
  const database = await createTestDatabase({
    migrations: [
      CORE_MIGRATIONS,
      ...options.plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! })),
    ],
  })
  const apps: Served[] = []
  try {
    for (let i = 0; i < n; i++) {
      const app = await createApp({
        plugins: options.plugins,
        database,
        workers: false,
        logger: options.logger,
        env: {
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          LOG_LEVEL: 'error',
          DATA_DIR: '.data-test',
          RATE_LIMIT_DEFAULT: '100000/minute',
          ...options.env,
        },
      })
      apps.push(serveApp(app))
    }
  } catch (err) {
    for (const a of apps) await a.server.shutdown()
    await database.close()
    throw err
  }
  return {
    apps,
    token: (user) => signTestToken(user),
    async close() {
      for (const a of apps) await a.server.shutdown()
      await database.close()
    },
  }
}

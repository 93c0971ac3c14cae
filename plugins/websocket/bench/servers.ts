/**
 * Benchmark servers, one per process: `raw` is plain Bun.serve pub/sub (a frame in, ws.publish to
 * the topic); `omni` is createApp with the websocket plugin and an open `room:<id>` channel kind.
 * Each prints "listening <port>".
 */
import { createApp, definePlugin } from '../../../core/index.ts'
import { serve } from '../../../core/index.ts'
import websocket from '../index.ts'

const mode = process.argv[2]
const port = Number(process.env.PORT ?? 0)

if (mode === 'raw') {
  const server = Bun.serve<object>({
    port,
    hostname: '127.0.0.1',
    fetch: (req, srv) => (srv.upgrade(req, { data: {} }) ? undefined : new Response('upgrade', { status: 400 })),
    websocket: {
      open: (ws) => void ws.subscribe('room'),
      message: (ws, m) => void ws.publish('room', m),
    },
  })
  console.log(`listening ${server.port}`)
} else {
  // Any user may join a room: the benchmark measures fan-out, not the authoriser.
  const rooms = definePlugin({ name: 'bench-rooms', setup: () => ({ channels: { room: () => true } }) })
  const app = await createApp({ plugins: [websocket, rooms] })
  const server = serve(app, { hostname: '127.0.0.1', port })
  console.log(`listening ${server.port}`)
}

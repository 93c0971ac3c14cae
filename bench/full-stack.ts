/**
 * The full core stack on an authenticated v2 route: JWT (HS256), rate limit, request id,
 * envelope, security headers, Prometheus metrics, tracing span, metering hook (with a sink
 * that counts in memory, as the usage plugin buffers).
 */
import { createApp, definePlugin } from '../core/index.ts'
import { serve } from '../core/index.ts'

let metered = 0
const bench = definePlugin({
  name: 'bench',
  setup: () => ({
    meterSink: {
      record: () => {
        metered++
      },
      flush: async () => {},
    },
    routes: {
      app: ({ router }) =>
        router('/bench').get('/item', ({ user }) => ({
          id: 'item-1',
          name: 'Benchmark item',
          owner_id: user.id,
          tags: ['a', 'b'],
        })),
    },
  }),
})

const app = await createApp({ plugins: [bench] })
const server = serve(app, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)
process.on('SIGTERM', () => console.error(`metered ${metered} requests`))

/**
 * Benchmark server: the core benchmark's authenticated v2 route, with the usage plugin as the
 * meter sink (METERING=on) or with no sink at all, so meter() is a no-op (METERING=off).
 */
import { createApp, definePlugin } from '../../../core/index.ts'
import { serve } from '../../../core/index.ts'
import usage from '../index.ts'

const bench = definePlugin({
  name: 'bench',
  setup: () => ({
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

const on = process.env.METERING !== 'off'
const app = await createApp({ plugins: on ? [bench, usage] : [bench] })
const server = serve(app, { hostname: '127.0.0.1', signals: false })
console.log(`listening ${server.port}`)
process.once('SIGTERM', async () => {
  if (on) {
    await app.service(usage).flush()
    const [row] = await app.db.sql<
      { n: number }[]
    >`select coalesce(sum(value), 0)::float8 as n from usage_daily where metric = 'api_requests'`
    console.error(`metered ${row?.n ?? 0} requests`)
  }
  await server.shutdown()
  process.exit(0)
})

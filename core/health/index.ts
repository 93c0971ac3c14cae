/** Health, readiness and Prometheus metrics routes (docs/observability.md#health-and-readiness). Never rate-limited. */
import { t } from 'elysia'
import { definePlugin } from '../plugin/index.ts'

export {
  createHealthChecks,
  type Check,
  type ComponentStatus,
  type FailureReason,
  type HealthChecks,
} from '../observability/index.ts'
export { redisCheck } from './redis-check.ts'

const healthBody = t.Object({ status: t.String(), timestamp: t.String({ format: 'date-time' }) })
/** Documented, not enforced (the 503 carries the same body): the OpenAPI document reads it. */
const readyBody = t.Object({
  status: t.Union([t.Literal('healthy'), t.Literal('unhealthy')]),
  timestamp: t.String({ format: 'date-time' }),
  components: t.Record(
    t.String(),
    t.Object({
      status: t.Union([t.Literal('healthy'), t.Literal('unhealthy')]),
      driver: t.Optional(t.String()),
      reason: t.Optional(
        t.Union([t.Literal('timeout'), t.Literal('unreachable'), t.Literal('error'), t.Literal('shutting_down')]),
      ),
    }),
  ),
})
const readyDoc = (description: string) => ({ description, content: { 'application/json': { schema: readyBody } } })

export const healthPlugin = definePlugin({
  name: 'health',
  tag: { name: 'Health', description: 'Liveness, readiness and metrics' },
  setup: ({ health, metrics }) => ({
    routes: {
      public: ({ router }) =>
        router()
          .get('/health', () => ({ status: 'healthy', timestamp: new Date().toISOString() }), {
            response: { 200: healthBody },
            detail: { summary: 'Liveness' },
          })
          .get(
            '/health/ready',
            async ({ set }) => {
              const { healthy, components } = await health.run()
              set.status = healthy ? 200 : 503
              return { status: healthy ? 'healthy' : 'unhealthy', timestamp: new Date().toISOString(), components }
            },
            {
              detail: {
                summary: 'Readiness: database (and cache when REDIS_URL is set); 503 names the failing component',
                responses: {
                  200: readyDoc('Every component is healthy'),
                  503: readyDoc('A component is unhealthy, or shutdown has begun'),
                },
              },
            },
          )
          .get(
            '/metrics',
            async () => new Response(await metrics.render(), { headers: { 'content-type': metrics.contentType } }),
            {
              detail: {
                summary: 'Prometheus metrics (text exposition format, never enveloped)',
                responses: {
                  200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
                },
              },
            },
          ),
    },
  }),
})

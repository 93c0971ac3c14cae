/**
 * /admin/webhooks/events: inbound events of every provider the core's pipeline serves (Stripe,
 * App Store, Google Play, Clerk, Supabase), filtered by provider, type and status; one with its
 * payload; replay of a failed or unmatched one.
 */
import { jsonDoc, page, type RouteContext } from '../../core/index.ts'
import { InboundModel } from './schema.ts'

export const webhookEventRoutes = ({ router, audit, inbound }: RouteContext) =>
  router('/webhooks')
    .get(
      '/events',
      async ({ query }) => {
        const { items, total } = await inbound.list(query)
        return page(items, total, query)
      },
      {
        query: InboundModel.listQuery,
        scope: 'admin:full',
        detail: {
          summary: 'List inbound webhook events',
          description:
            'Newest first. `status`: applied, ignored (not relevant or older than the stored state), unmatched (waiting for a purchase link), failed (retried by a job), rejected (verified but malformed: answered 400, never applied).',
          responses: { 200: jsonDoc('A page of events', InboundModel.list) },
        },
      },
    )
    .get('/events/:event_id', ({ params }) => inbound.get(params.event_id), {
      params: InboundModel.params,
      scope: 'admin:full',
      detail: {
        summary: 'Get an inbound webhook event with its payload',
        responses: { 200: jsonDoc('The event', InboundModel.event) },
      },
    })
    .post(
      '/events/:event_id/replay',
      async ({ params, principal, requestId, clientIp }) => {
        const event = await inbound.retry(params.event_id)
        const a = audit.from({ principal, requestId, clientIp })
        await audit.record({
          ...a,
          action: 'webhook.replay',
          resource_type: 'inbound_event',
          resource_id: event.id,
          details: { ...a.details, provider: event.provider, event_id: event.event_id, status: event.status },
        })
        return event
      },
      {
        params: InboundModel.params,
        scope: 'admin:full',
        detail: {
          summary: 'Replay a failed (or unmatched) inbound event',
          description:
            'Applies it again now; 409 for an event that is applied or ignored. Audit-logged as webhook.replay.',
          responses: {
            200: jsonDoc('The event after the replay', InboundModel.event),
            409: { description: 'Not failed or unmatched' },
          },
        },
      },
    )

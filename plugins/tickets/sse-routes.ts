/** GET /app/tickets/events: the live stream (docs/plugins/tickets.md#live-events-sse), text/event-stream in v1 and v2. */
import { QUERY_TOKEN, type RouteContext, t, unauthenticated } from '../../core/index.ts'
import { credentialExpiry, presentedToken } from './credential-expiry.ts'
import type { TicketStream } from './stream.ts'

export const sseRoutes = ({ router }: RouteContext<any>, stream: TicketStream) =>
  router('/tickets').get(
    '/events',
    ({ principal, headers, request, query }) => {
      // The stream ends when its credential does. A token already past its exp (the core accepts
      // it for a short leeway) is refused: EventSource stops on a 401 and the app signs in again,
      // rather than reconnecting every few seconds to a stream that ends at once.
      const endsAt = credentialExpiry(principal, presentedToken(request, query.token))
      if (endsAt !== undefined && endsAt <= Date.now()) throw unauthenticated('The token has expired: sign in again')
      return stream.open(principal, headers['last-event-id'] || undefined, { endsAt })
    },
    {
      scope: 'tickets:read',
      query: t.Object({
        token: t.Optional(
          t.String({ description: 'JWT or API key, for EventSource (browsers cannot set headers on it)' }),
        ),
      }),
      headers: t.Object({
        'last-event-id': t.Optional(
          t.String({
            pattern: '^([0-9]{1,18})?$',
            description: 'Resume after this event id (EventSource sends it when it reconnects)',
          }),
        ),
      }),
      detail: {
        ...{ [QUERY_TOKEN]: true },
        summary: 'Live ticket events (SSE)',
        description:
          'Server-sent events: `ticket_created`, `ticket_updated`, `ticket_deleted`, `comment_added` and (admins) ' +
          '`queue_changed`, each with `id:` and a JSON `data:` (`{ticket, changed?}`, `{ticket, comment}`, ' +
          '`{action, queue}`). A requester gets the public events of their own tickets only. `Last-Event-ID` ' +
          'replays what was missed (events are kept an hour); `:hb` comments keep the connection alive. ' +
          'The stream ends when the server shuts down, when the JWT that opened it expires (at its `exp`) and ' +
          'when the API key is revoked or the user changes: reconnect (EventSource does) with a valid credential. ' +
          'Authenticated by the bearer header or `?token=`. Never enveloped.',
        responses: {
          200: {
            description: 'An endless text/event-stream',
            content: {
              'text/event-stream': {
                schema: { type: 'string' as const },
                example:
                  'id: 42\nevent: ticket_updated\ndata: {"ticket":{"id":"…","number":7,"status":"pending"},"changed":["status"]}\n\n',
              },
            },
          },
        },
      },
    },
  )

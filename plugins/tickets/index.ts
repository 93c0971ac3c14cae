/** Tickets: the helpdesk core (docs/plugins/tickets.md) — tickets, conversation, attachments, watchers, queues, SLA, search, activity. */
import { definePlugin, env, optional, type EventMap } from '../../core/index.ts'
import files from '../files/index.ts'
import users from '../users/index.ts'
import { CONTACT_JOB, createContactIntake, type ContactJob } from './contact-intake.ts'
import { createCsatTokens, loadCsatKey } from './csat.ts'
import { csatRoutes } from './csat-routes.ts'
import { createCsatSurvey } from './csat-survey.ts'
import { createExport, exportRoutes } from './export.ts'
import { createMcp, mcpRoutes } from './mcp.ts'
import { createNotifier, type NotifyPayload } from './notify.ts'
import { createAttachments, createQueues, createSlaPolicies, createWatchers, scanSlaBreaches } from './parts.ts'
import type { EmailPort, WebsocketPort } from './ports.ts'
import { reportRoutes } from './report-routes.ts'
import { createReports } from './reports.ts'
import { ticketRoutes } from './routes.ts'
import { createTicketsService, type Comment, type Ticket } from './service.ts'
import { sseRoutes } from './sse-routes.ts'
import { withQueueEvents } from './queue-events.ts'
import { createTicketStream } from './stream.ts'
import { HEARTBEAT_MS } from './stream-rows.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    'ticket.created': { ticket: Ticket; actor_id: string }
    /** `changed` lists the fields that changed. */
    'ticket.updated': { ticket: Ticket; changed: string[]; actor_id: string }
    'ticket.deleted': { id: string; number: number; requester_id: string; actor_id: string }
    /** `visibility: 'internal'` events must never reach the requester. */
    'comment.added': { ticket: Ticket; comment: Comment; visibility: 'public' | 'internal'; actor_id: string }
    'ticket.sla_breached': { ticket: Ticket; target: 'first_response' | 'resolution' }
  }
}

export type { Ticket, Comment, TicketsService } from './service.ts'
export { STATUSES, PRIORITIES } from './schema.ts'

export interface TicketsPluginOptions {
  /** Clock of every timestamp the plugin writes and of SLA breach flags (tests inject one). @default () => new Date() */
  now?: () => Date
  /** Unread bytes after which a live-events (SSE) listener is dropped (tests set it low). @default 1 MiB */
  sseMaxBufferBytes?: number
  /** Test seam of the CSV export: awaited after each batch read from its cursor (export.ts). */
  onExportBatch?: (rows: number) => void | Promise<void>
}

export function createTicketsPlugin(options: TicketsPluginOptions = {}) {
  const now = options.now ?? (() => new Date())
  return definePlugin({
    name: 'tickets',
    dependsOn: { users, files },
    optionalDependsOn: { email: optional<EmailPort>('email'), websocket: optional<WebsocketPort>('websocket') },
    tag: { name: 'Tickets', description: 'Helpdesk tickets, comments, attachments, watchers, queues and SLA policies' },
    migrations: new URL('./migrations/', import.meta.url),
    config: {
      sseHeartbeatMs: env.int('TICKETS_SSE_HEARTBEAT_MS', {
        default: HEARTBEAT_MS,
        min: 100,
        description: 'interval of the `:hb` comment on GET /tickets/events, in ms',
      }),
      fromContact: env.bool('TICKETS_FROM_CONTACT', {
        default: false,
        description:
          'open a ticket (source contact) for each contact form submission, when the contact plugin is installed',
      }),
      csatSecret: env.secret('TICKETS_CSAT_SECRET', {
        minLength: 32,
        description:
          'HMAC key of CSAT survey links; unset = a random key kept in DATA_DIR/tickets-csat.key (set it on every replica)',
      }),
    },
    setup: (ctx) => {
      const { sql, events, jobs, logger } = ctx
      const csat = createCsatTokens({
        key: loadCsatKey(ctx.core.dataDir, ctx.config.csatSecret),
        publicUrl: ctx.core.publicUrl,
        logger,
      })
      const tickets = createTicketsService({ sql, events, jobs, logger, publicUrl: ctx.core.publicUrl, now, csat })
      const survey = createCsatSurvey({ sql, tickets, events, logger, now })
      const exporter = createExport({ sql, tickets, logger, now, onBatch: options.onExportBatch })
      const intake = createContactIntake({ sql, jobs, tickets, users: ctx.deps.users, logger })
      const attachments = createAttachments({
        sql,
        tickets,
        storage: ctx.deps.files.storage,
        maxUploadBytes: ctx.core.maxUploadBytes,
        now,
      })
      const watchers = createWatchers({ sql, tickets })
      const queues = withQueueEvents(createQueues({ sql, tickets, events, now }), events)
      const policies = createSlaPolicies({ sql, now })
      const notifier = createNotifier({
        sql,
        logger,
        tickets,
        watchers,
        email: ctx.deps.email,
        websocket: ctx.deps.websocket,
        csatLink: csat.link,
      })
      const stream = createTicketStream({
        sql,
        events,
        logger,
        now,
        heartbeatMs: ctx.config.sseHeartbeatMs,
        maxBufferBytes: options.sseMaxBufferBytes,
      })
      const reports = createReports({ sql, now, publicUrl: ctx.core.publicUrl })
      const mcp = createMcp({
        sql,
        logger,
        tickets,
        queues,
        corsOrigins: ctx.core.corsOrigins,
        stats: (version) => reports.stats(version),
      })
      const service = Object.assign(tickets, { attachments, watchers, queues, policies })
      return {
        service,
        routes: {
          app: (r) =>
            r
              .router()
              .use(ticketRoutes(r, { tickets, attachments, watchers, queues, policies }).use(reportRoutes(r, now)))
              .use(exportRoutes(r, exporter))
              .use(sseRoutes(r, stream))
              .use(mcpRoutes(r, mcp)),
          public: (r) => csatRoutes(r, survey),
        },
        jobs: {
          'tickets.notify-requester': (payload: NotifyPayload) => notifier.emailRequester(payload),
          'tickets.scan-sla': async () => {
            const n = await scanSlaBreaches({ sql, tickets, events, logger, now })
            if (n) logger.info('tickets: SLA breaches announced', { count: n })
          },
          'tickets.prune-stream': async () => void (await stream.prune()),
          [CONTACT_JOB]: async (payload: ContactJob) => void (await intake.open(payload)),
        },
        schedules: [
          { job: 'tickets.scan-sla', cron: '* * * * *' },
          { job: 'tickets.prune-stream', cron: '*/10 * * * *' },
        ],
        on: {
          // (Payloads cast: the core's EventHandlers index signature types them unknown here.)
          'ticket.created': (e: unknown) => {
            const { ticket, actor_id } = e as EventMap['ticket.created']
            return notifier.realtime(ticket, 'ticket_created', actor_id)
          },
          'ticket.updated': (e: unknown) => {
            const { ticket, actor_id, changed } = e as EventMap['ticket.updated']
            return notifier.realtime(ticket, 'ticket_updated', actor_id, { changed })
          },
          'comment.added': (e: unknown) => notifier.comment(e as EventMap['comment.added']),
          // Published by the contact plugin, when installed (contact-intake.ts).
          ...(ctx.config.fromContact ? { 'contact.submitted': (e: unknown) => intake.submitted(e) } : {}),
        },
        // WebSocket `ticket:<uuid>`: its requester and staff.
        channels: { ticket: ({ principal, id }) => tickets.canWatch(principal, id) },
        // Live events (SSE): the appenders and the fan-out (stream.ts); at shutdown the streams end
        // when the server starts draining, so they do not hold it (docs/writing-a-plugin.md#drain).
        start: () => stream.start(),
        drain: () => stream.drain(),
        stop: () => stream.stop(),
      }
    },
  })
}

export default createTicketsPlugin()

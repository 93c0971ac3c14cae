/** Ticket routes under /app/tickets (docs/plugins/tickets.md): tickets, comments, attachments, watchers, activity, queues and SLA policies. */
import type { RouteContext } from '../../core/index.ts'
import type { createAttachments, createQueues, createSlaPolicies, createWatchers } from './parts.ts'
import {
  ActivityModel,
  AttachmentModel,
  CommentModel,
  pageOnly,
  QueueModel,
  SlaModel,
  TicketModel,
  WatcherModel,
} from './schema.ts'
import type { TicketsService } from './service.ts'

export interface TicketServices {
  tickets: TicketsService
  attachments: ReturnType<typeof createAttachments>
  watchers: ReturnType<typeof createWatchers>
  queues: ReturnType<typeof createQueues>
  policies: ReturnType<typeof createSlaPolicies>
}

const R = 'tickets:read'
const W = 'tickets:write'
const ticketParams = TicketModel.params
const forTicket = "Someone else's ticket is 404 (by id and by number), like a missing or deleted one."

export const ticketRoutes = ({ router }: RouteContext<any>, s: TicketServices) =>
  router('/tickets')
    // Queues and SLA policies first: static segments, never a ticket number.
    .get('/queues', ({ query }) => s.queues.list(query), {
      query: pageOnly,
      response: { 200: QueueModel.list },
      role: 'staff',
      scope: R,
      detail: { summary: 'List queues (staff)' },
    })
    .post(
      '/queues',
      async ({ body, set }) => {
        const q = await s.queues.create(body)
        set.status = 201
        return q
      },
      {
        body: QueueModel.create,
        response: { 201: QueueModel.queue },
        role: 'admin',
        scope: W,
        detail: { summary: 'Create a queue (admin)' },
      },
    )
    .get('/queues/:queue_id', ({ params }) => s.queues.get(params.queue_id), {
      params: QueueModel.params,
      response: { 200: QueueModel.queue },
      role: 'staff',
      scope: R,
      detail: { summary: 'Get a queue (staff)' },
    })
    .patch('/queues/:queue_id', ({ params, body }) => s.queues.update(params.queue_id, body), {
      params: QueueModel.params,
      body: QueueModel.update,
      response: { 200: QueueModel.queue },
      role: 'admin',
      scope: W,
      detail: { summary: 'Update a queue (admin)', responses: { 409: { description: 'A queue has that name' } } },
    })
    .delete(
      '/queues/:queue_id',
      async ({ params, set }) => {
        await s.queues.remove(params.queue_id)
        set.status = 204
      },
      {
        params: QueueModel.params,
        role: 'admin',
        scope: W,
        detail: {
          summary: 'Delete a queue (admin); 409 while it holds tickets',
          responses: { 204: { description: 'Deleted' }, 409: { description: 'The queue still holds tickets' } },
        },
      },
    )
    .get('/queues/:queue_id/stats', ({ params }) => s.queues.stats(params.queue_id), {
      params: QueueModel.params,
      response: { 200: QueueModel.stats },
      role: 'staff',
      scope: R,
      detail: { summary: 'Queue statistics (staff)' },
    })
    .get('/sla-policies', ({ query }) => s.policies.list(query), {
      query: pageOnly,
      response: { 200: SlaModel.list },
      role: 'staff',
      scope: R,
      detail: {
        summary: 'List SLA policies (staff)',
        description: 'One per priority, urgent first. Calendar minutes.',
      },
    })
    .put('/sla-policies/:priority', ({ params, body }) => s.policies.put(params.priority, body), {
      params: SlaModel.params,
      body: SlaModel.put,
      response: { 200: SlaModel.policy },
      role: 'admin',
      scope: W,
      detail: {
        summary: 'Set the SLA policy of a priority (admin)',
        description: 'Applies to tickets created or re-prioritised after it.',
      },
    })
    // Tickets.
    .get('', ({ principal, query }) => s.tickets.list(principal, query), {
      query: TicketModel.listQuery,
      scope: R,
      // Documented, not enforced at runtime: checking 100 tickets against the schema cost more
      // than the two queries of the page (bench/tickets.md). Single-ticket routes are checked.
      detail: {
        responses: {
          200: {
            description: 'A page of tickets',
            content: { 'application/json': { schema: TicketModel.list as {} } },
          },
        },
        summary: 'List tickets',
        description:
          'A requester sees their own tickets only. `q` is full text over title, description and public comments (internal notes too for staff). `after` (keyset) works with the default sort and `-updated_at`.',
      },
    })
    .post(
      '',
      async ({ principal, body, set }) => {
        const ticket = await s.tickets.create(principal, body)
        set.status = 201
        return ticket
      },
      {
        body: TicketModel.create,
        response: { 201: TicketModel.ticket },
        scope: W,
        detail: {
          summary: 'Open a ticket',
          description:
            '`queue_id` and `requester_id` (on behalf of someone) are staff only: 403 with `details.field` for a requester.',
        },
      },
    )
    .get('/:id', ({ principal, params }) => s.tickets.get(principal, params.id), {
      params: ticketParams,
      response: { 200: TicketModel.ticket },
      scope: R,
      detail: { summary: 'Get a ticket by id or number', description: forTicket },
    })
    .patch('/:id', ({ principal, params, body }) => s.tickets.update(principal, params.id, body), {
      params: ticketParams,
      body: TicketModel.update,
      response: { 200: TicketModel.ticket },
      scope: W,
      detail: {
        summary: 'Update a ticket',
        description:
          'Staff: any field. Requester: title and description while open (another field is 403 with `details.field`). A closed ticket is 409.',
        responses: { 409: { description: 'The ticket is closed, or a requester edits it after it left `open`' } },
      },
    })
    .delete(
      '/:id',
      async ({ principal, params, set }) => {
        await s.tickets.remove(principal, params.id)
        set.status = 204
      },
      {
        params: ticketParams,
        scope: W,
        detail: { summary: 'Delete a ticket (admin; soft)', responses: { 204: { description: 'Deleted' } } },
      },
    )
    .post('/:id/assign', ({ principal, params, body }) => s.tickets.assign(principal, params.id, body.assignee_id), {
      params: ticketParams,
      body: TicketModel.assign,
      response: { 200: TicketModel.ticket },
      scope: W,
      detail: {
        summary: 'Assign a ticket (staff)',
        description: 'The assignee must be staff; an open ticket becomes in_progress; null unassigns.',
      },
    })
    .post('/:id/close', ({ principal, params }) => s.tickets.close(principal, params.id), {
      params: ticketParams,
      response: { 200: TicketModel.ticket },
      scope: W,
      detail: {
        summary: 'Close a ticket',
        description: 'Sets closed_at (and resolved_at if unset) and issues a CSAT token. Already closed: 409.',
      },
    })
    .post('/:id/reopen', ({ principal, params }) => s.tickets.reopen(principal, params.id), {
      params: ticketParams,
      response: { 200: TicketModel.ticket },
      scope: W,
      detail: {
        summary: 'Reopen a resolved or closed ticket',
        description: 'Back to open; clears resolved_at and closed_at and voids an unanswered CSAT token.',
      },
    })
    .get('/:id/activity', ({ principal, params, query }) => s.tickets.activity(principal, params.id, query), {
      params: ticketParams,
      query: pageOnly,
      response: { 200: ActivityModel.list },
      scope: R,
      detail: { summary: 'Activity log of a ticket (staff)', description: 'Who changed what, when; newest first.' },
    })
    // Comments.
    .get('/:id/comments', ({ principal, params, query }) => s.tickets.listComments(principal, params.id, query), {
      params: ticketParams,
      query: pageOnly,
      scope: R,
      // Documented, not enforced at runtime (as the ticket list).
      detail: {
        responses: {
          200: {
            description: 'A page of comments',
            content: { 'application/json': { schema: CommentModel.list as {} } },
          },
        },
        summary: 'List comments',
        description: 'Newest first. Requesters never see internal notes.',
      },
    })
    .post(
      '/:id/comments',
      async ({ principal, params, body, set }) => {
        const c = await s.tickets.addComment(principal, params.id, body)
        set.status = 201
        return c
      },
      {
        params: ticketParams,
        body: CommentModel.create,
        response: { 201: CommentModel.comment },
        scope: W,
        detail: {
          summary: 'Add a comment or an internal note',
          description:
            'The first public staff comment sets first_response_at; a requester reply to a pending ticket reopens it. `is_internal` is staff only.',
        },
      },
    )
    // Attachments.
    .post(
      '/:id/attachments/presign',
      async ({ principal, params, body, set }) => {
        const r = await s.attachments.presign(principal, params.id, body)
        set.status = 201
        return r
      },
      {
        params: ticketParams,
        body: AttachmentModel.presign,
        response: { 201: AttachmentModel.presigned },
        scope: W,
        detail: {
          summary: 'Presign an attachment upload',
          description: 'PUT exactly `bytes` bytes with the returned headers, then confirm. Over MAX_UPLOAD_BYTES: 413.',
        },
      },
    )
    .post(
      '/:id/attachments',
      async ({ principal, params, body, set }) => {
        const r = await s.attachments.confirm(principal, params.id, body.attachment_id)
        set.status = 201
        return r
      },
      {
        params: ticketParams,
        body: AttachmentModel.confirm,
        response: { 201: AttachmentModel.confirmed },
        scope: W,
        detail: {
          summary: 'Confirm an uploaded attachment',
          description: '400 when the store holds no object of the declared size.',
        },
      },
    )
    .get('/:id/attachments', ({ principal, params, query }) => s.attachments.list(principal, params.id, query), {
      params: ticketParams,
      query: pageOnly,
      response: { 200: AttachmentModel.list },
      scope: R,
      detail: { summary: 'List attachments', description: 'Confirmed uploads, newest first.' },
    })
    .get(
      '/:id/attachments/:att_id/download-url',
      ({ principal, params }) => s.attachments.downloadUrl(principal, params.id, params.att_id),
      {
        params: AttachmentModel.params,
        response: { 200: AttachmentModel.download },
        scope: R,
        detail: { summary: 'A signed download URL of an attachment' },
      },
    )
    .delete(
      '/:id/attachments/:att_id',
      async ({ principal, params, set }) => {
        await s.attachments.remove(principal, params.id, params.att_id)
        set.status = 204
      },
      {
        params: AttachmentModel.params,
        scope: W,
        detail: { summary: 'Delete an attachment (uploader or staff)', responses: { 204: { description: 'Deleted' } } },
      },
    )
    // Watchers (staff).
    .get('/:id/watchers', ({ principal, params, query }) => s.watchers.list(principal, params.id, query), {
      params: ticketParams,
      query: pageOnly,
      response: { 200: WatcherModel.list },
      scope: R,
      detail: { summary: 'List watchers (staff)', description: 'User ids, newest first.' },
    })
    .post(
      '/:id/watchers',
      async ({ principal, params, body, set }) => {
        const r = await s.watchers.add(principal, params.id, body.user_id)
        set.status = r.created ? 201 : 200
        return r
      },
      {
        params: ticketParams,
        body: WatcherModel.add,
        response: { 200: WatcherModel.added, 201: WatcherModel.added },
        scope: W,
        detail: {
          summary: 'Add a staff watcher (staff)',
          description: '201 when added, 200 when they already watched.',
        },
      },
    )
    .delete(
      '/:id/watchers/:user_id',
      async ({ principal, params, set }) => {
        await s.watchers.remove(principal, params.id, params.user_id)
        set.status = 204
      },
      {
        params: WatcherModel.params,
        scope: W,
        detail: { summary: 'Remove a watcher (staff)', responses: { 204: { description: 'Removed' } } },
      },
    )

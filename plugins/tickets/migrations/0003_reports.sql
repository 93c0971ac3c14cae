-- Reports (docs/plugins/tickets.md#reports): covering indexes, so that each report is an
-- index-only range scan (or, for all-time figures, one pass over an index far smaller than the
-- table) and never reads ticket rows. closed_by needs no backfill: close() has written it
-- since 0001 (and reopen clears it with closed_at).

-- Everything keyed on creation: metrics/sla, metrics/resolution, metrics/daily,
-- analytics/summary and the created-in-window figures of stats (all time included).
create index if not exists tickets_report_created_idx on tickets (created_at)
  include (status, first_response_at, resolved_at, first_response_due_at, resolution_due_at)
  where deleted_at is null;

-- Closed in a window, and by whom (stats: closed_today, leaderboards).
create index if not exists tickets_report_closed_idx on tickets (closed_at)
  include (closed_by, created_at)
  where deleted_at is null and closed_at is not null;

-- The oldest ticket still waiting for a first staff reply (stats: oldest_unanswered_ticket).
create index if not exists tickets_unanswered_idx on tickets (created_at, id)
  where deleted_at is null and first_response_at is null and status not in ('resolved', 'closed');

-- Assignments in a window (stats: assigned_today_in_progress): activity rows naming an assignee.
create index if not exists ticket_activity_assignee_idx on ticket_activity (created_at)
  include (ticket_id)
  where changes ? 'assignee_id';

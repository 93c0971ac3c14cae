-- Live events of GET /tickets/events (docs/plugins/tickets.md#live-events-sse). One row per change,
-- appended once by the replica that made it (appends are serialised, so ids commit in order);
-- the id is the SSE `id:` on every replica and Last-Event-ID resumes from this table.
-- Rows older than an hour are pruned by the job tickets.prune-stream.
create table ticket_stream (
  id bigserial primary key,
  kind text not null check (kind in ('ticket_created', 'ticket_updated', 'ticket_deleted', 'comment_added', 'queue_changed')),
  -- The ticket's requester: who besides staff may see the event (null for queue_changed).
  requester_id text,
  -- public: the requester and staff; internal: staff only (internal notes); admin: admins only.
  visibility text not null check (visibility in ('public', 'internal', 'admin')),
  payload jsonb not null,
  created_at timestamptz not null default now()
);
-- A requester's resume: their rows after Last-Event-ID.
create index ticket_stream_requester_idx on ticket_stream (requester_id, id);
-- The prune job.
create index ticket_stream_created_idx on ticket_stream (created_at);

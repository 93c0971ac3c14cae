-- Tickets (docs/plugins/tickets.md): queues, SLA policies, tickets numbered by a sequence, comments with
-- internal notes, attachments, watchers and a per-ticket activity log.
--
-- Search: two maintained tsvectors per ticket, kept apart so that a requester's query can
-- never match internal text: `search_public` (title, description, public comments) and
-- `search_internal` (internal notes only). The service appends to them in the transaction
-- that adds a comment and rebuilds them when the title or description changes.
-- Every list filter has an index over live tickets (deleted_at is null).

create table if not exists ticket_queues (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 100),
  description text check (description is null or char_length(description) <= 2000),
  default_assignee_id text references users(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists ticket_queues_name_idx on ticket_queues (lower(name));

create table if not exists ticket_sla_policies (
  priority text primary key check (priority in ('low', 'normal', 'high', 'urgent')),
  first_response_minutes integer not null check (first_response_minutes > 0),
  resolution_minutes integer not null check (resolution_minutes > 0),
  updated_at timestamptz not null default now()
);
insert into ticket_sla_policies (priority, first_response_minutes, resolution_minutes) values
  ('urgent', 60, 240), ('high', 240, 1440), ('normal', 480, 2880), ('low', 1440, 7200)
  on conflict (priority) do nothing;

-- Ticket numbers: a sequence (never max+1), so concurrent creates get distinct numbers.
create sequence if not exists tickets_number_seq as integer start with 1;

create table if not exists tickets (
  id uuid primary key default gen_random_uuid(),
  number integer not null default nextval('tickets_number_seq'),
  title text not null check (char_length(title) between 1 and 200),
  description text not null check (char_length(description) between 1 and 20000),
  status text not null default 'open' check (status in ('open', 'pending', 'in_progress', 'resolved', 'closed')),
  priority text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
  -- Sort rank: low < normal < high < urgent.
  priority_rank smallint generated always as (
    case priority when 'low' then 1 when 'normal' then 2 when 'high' then 3 else 4 end) stored,
  urgency smallint check (urgency between 1 and 4),
  category text,
  subcategory text,
  tags text[] not null default '{}',
  requester_id text not null references users(id),
  assignee_id text references users(id) on delete set null,
  queue_id uuid references ticket_queues(id),
  source text not null default 'web' check (source in ('api', 'web', 'email', 'contact', 'mcp')),
  custom_fields jsonb not null default '{}',
  due_at timestamptz,
  scheduled_at timestamptz,
  first_response_at timestamptz,
  resolved_at timestamptz,
  closed_at timestamptz,
  sla_policy text,
  first_response_due_at timestamptz,
  resolution_due_at timestamptz,
  -- Set by the SLA breach job once it has announced the breach (ticket.sla_breached).
  first_response_breach_notified_at timestamptz,
  resolution_breach_notified_at timestamptz,
  closed_by text,
  csat_token text,
  csat_score text check (csat_score in ('good', 'bad')),
  csat_comment text,
  csat_answered_at timestamptz,
  search_public tsvector not null default ''::tsvector,
  search_internal tsvector not null default ''::tsvector,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
alter sequence tickets_number_seq owned by tickets.number;
create unique index if not exists tickets_number_idx on tickets (number);
create unique index if not exists tickets_csat_token_idx on tickets (csat_token) where csat_token is not null;

-- Lists: newest first (default) and by update, each filter with the same order behind it.
create index if not exists tickets_created_idx on tickets (created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_updated_idx on tickets (updated_at desc, id desc) where deleted_at is null;
create index if not exists tickets_status_created_idx on tickets (status, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_priority_created_idx on tickets (priority, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_rank_created_idx on tickets (priority_rank desc, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_requester_created_idx on tickets (requester_id, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_assignee_created_idx on tickets (assignee_id, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_queue_created_idx on tickets (queue_id, created_at desc, id desc) where deleted_at is null;
create index if not exists tickets_tags_idx on tickets using gin (tags) where deleted_at is null;
create index if not exists tickets_search_public_idx on tickets using gin (search_public) where deleted_at is null;
create index if not exists tickets_search_internal_idx on tickets using gin (search_internal) where deleted_at is null;
-- The SLA breach job: open targets past due and not yet announced.
create index if not exists tickets_fr_due_idx on tickets (first_response_due_at)
  where deleted_at is null and first_response_at is null and first_response_breach_notified_at is null;
create index if not exists tickets_res_due_idx on tickets (resolution_due_at)
  where deleted_at is null and resolved_at is null and resolution_breach_notified_at is null;

create table if not exists ticket_comments (
  id uuid primary key default gen_random_uuid(),
  ticket_id uuid not null references tickets(id) on delete cascade,
  author_id text not null references users(id),
  body_md text not null check (char_length(body_md) between 1 and 20000),
  is_internal boolean not null default false,
  created_at timestamptz not null default now()
);
create index if not exists ticket_comments_ticket_idx on ticket_comments (ticket_id, created_at desc, id desc);
create index if not exists ticket_comments_public_idx on ticket_comments (ticket_id, created_at desc, id desc) where not is_internal;

create table if not exists ticket_attachments (
  id uuid primary key default gen_random_uuid(),
  ticket_id uuid not null references tickets(id) on delete cascade,
  uploader_id text not null references users(id),
  filename text not null,
  key text not null,
  bytes bigint not null check (bytes > 0),
  mime text not null,
  status text not null default 'pending' check (status in ('pending', 'uploaded')),
  created_at timestamptz not null default now(),
  uploaded_at timestamptz
);
create index if not exists ticket_attachments_ticket_idx on ticket_attachments (ticket_id, created_at desc, id desc) where status = 'uploaded';

create table if not exists ticket_watchers (
  ticket_id uuid not null references tickets(id) on delete cascade,
  user_id text not null references users(id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (ticket_id, user_id)
);
create index if not exists ticket_watchers_user_idx on ticket_watchers (user_id);

create table if not exists ticket_activity (
  id uuid primary key default gen_random_uuid(),
  ticket_id uuid not null references tickets(id) on delete cascade,
  actor_id text,
  action text not null,
  changes jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index if not exists ticket_activity_ticket_idx on ticket_activity (ticket_id, created_at desc, id desc);

-- Background jobs (SPEC §8): a Postgres queue claimed with FOR UPDATE SKIP LOCKED.
-- state: queued -> running -> completed | failed (retries at run_at) | dead (out of attempts).
create table if not exists jobs (
  id uuid primary key default gen_random_uuid(),
  name text not null,                                  -- `<plugin>.<verb-noun>` (STYLE §9)
  queue text generated always as (split_part(name, '.', 1)) stored,  -- the name up to its first dot
  state text not null default 'queued' check (state in ('queued', 'running', 'completed', 'failed', 'dead')),
  payload jsonb,
  unique_key text,
  schedule_tick timestamptz,                           -- the cron tick a scheduled job was made for
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts >= 1),
  backoff_ms integer not null default 1000 check (backoff_ms >= 0),
  last_error text,
  run_at timestamptz not null default now(),
  locked_by text,
  locked_until timestamptz,                            -- lease: a crashed worker's job is taken again after it
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz
);

-- The claim query: due queued/failed jobs by run_at, and running jobs whose lease ran out.
create index if not exists jobs_due_idx on jobs (run_at) where state in ('queued', 'failed');
create index if not exists jobs_lease_idx on jobs (locked_until) where state = 'running';
-- At most one live job per (name, unique key); finished jobs free the key.
create unique index if not exists jobs_unique_key_idx on jobs (name, unique_key)
  where unique_key is not null and state in ('queued', 'running', 'failed');
-- A schedule fires once per tick however many replicas race for it.
create unique index if not exists jobs_schedule_tick_idx on jobs (name, schedule_tick) where schedule_tick is not null;
-- Admin lists (newest first, id as tie-break) by state, queue or exact name; stats by state and age.
create index if not exists jobs_created_idx on jobs (created_at desc, id desc);
create index if not exists jobs_state_created_idx on jobs (state, created_at desc, id desc);
create index if not exists jobs_queue_created_idx on jobs (queue, created_at desc, id desc);
create index if not exists jobs_name_created_idx on jobs (name, created_at desc, id desc);
create index if not exists jobs_state_updated_idx on jobs (state, updated_at);

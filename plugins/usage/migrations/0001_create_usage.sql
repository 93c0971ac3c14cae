-- Usage roll-ups (SPEC §8, §9): one row per user, metric, dimension set and UTC day, added to
-- in batches by each replica's meter sink. usage_events is the idempotency ledger: an event
-- that carries an id counts only the first time its id is inserted.
create table if not exists usage_daily (
  user_id text not null,
  metric text not null,
  dim_key text not null default '{}',           -- canonical JSON of the dimensions (sorted keys)
  dimensions jsonb not null default '{}'::jsonb,
  day date not null,                            -- UTC day
  value double precision not null default 0,
  updated_at timestamptz not null default now(),
  primary key (user_id, metric, day, dim_key)
);
-- Top users and dashboard totals: one metric over a range of days.
create index if not exists usage_daily_metric_day_idx on usage_daily (metric, day, user_id);

create table if not exists usage_events (
  id text primary key,
  created_at timestamptz not null default now()
);
create index if not exists usage_events_created_idx on usage_events (created_at);

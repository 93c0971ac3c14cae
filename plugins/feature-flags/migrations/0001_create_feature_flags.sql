-- Feature flags (seed 004 "Feature Flags", SPEC §9). Every replica keeps them all in memory and
-- reloads on the broadcast `feature_flag.changed` event; the key is what code and clients ask for.
create table if not exists feature_flags (
  id uuid primary key default gen_random_uuid(),
  key text not null unique,
  name text not null,
  description text,
  flag_type text not null default 'boolean' check (flag_type in ('boolean', 'percentage', 'user_list', 'plan_based')),
  is_enabled boolean not null default false,
  percentage double precision not null default 0 check (percentage >= 0 and percentage <= 100),
  user_ids text[] not null default '{}',
  plans text[] not null default '{}',
  expires_at timestamptz,                         -- after it the flag evaluates as disabled
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists feature_flags_created_idx on feature_flags (created_at desc, id desc);

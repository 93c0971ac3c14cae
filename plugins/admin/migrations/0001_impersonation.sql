-- Impersonation sessions (SPEC §7): one row per token issued. The row is the revocation list:
-- every request made with a token reads it, so stopping takes effect at once on every replica.
create table if not exists impersonation_sessions (
  id uuid primary key default gen_random_uuid(),   -- the token's jti
  actor_id text not null references users(id),     -- the admin
  target_id text not null references users(id),    -- the user impersonated
  reason text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz,
  ended_by text
);
create index if not exists impersonation_sessions_actor_idx on impersonation_sessions (actor_id, created_at desc);

-- The signing secret used when IMPERSONATION_SECRET is not set: generated once by the first
-- replica to start, shared by all replicas through the database.
create table if not exists impersonation_secret (
  id integer primary key default 1 check (id = 1),
  secret text not null,
  created_at timestamptz not null default now()
);

-- Core tables: users (provisioned from the identity provider's token, SPEC §7) and
-- stored responses for Idempotency-Key (SPEC §3).
create table if not exists users (
  id text primary key,                       -- the JWT `sub`; not a UUID (Clerk, Supabase, custom OAuth)
  email text,
  full_name text,
  avatar_url text,
  role text not null default 'user' check (role in ('user', 'agent', 'admin', 'superadmin')),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists users_email_idx on users (lower(email));
create index if not exists users_created_idx on users (created_at desc, id desc);

create table if not exists idempotency_keys (
  user_id text not null,
  key text not null,
  request_hash text not null,
  method text not null,
  path text not null,
  status_code integer,                      -- null while the first request is still running
  response_body text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (user_id, key)
);
create index if not exists idempotency_keys_created_idx on idempotency_keys (created_at);

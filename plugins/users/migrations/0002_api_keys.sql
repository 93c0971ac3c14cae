-- API keys (SPEC §7): `osk_` + 40 random characters, shown once; only a SHA-256 of the key is
-- kept. `prefix` (the first 12 characters) lets a user recognise a key in the list.
create table if not exists api_keys (
  id uuid primary key default gen_random_uuid(),
  user_id text not null references users(id) on delete cascade,
  name text not null,
  prefix text not null,
  key_hash text not null unique,
  scopes text[] not null default '{}',
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index if not exists api_keys_user_created_idx on api_keys (user_id, created_at desc, id desc) where revoked_at is null;

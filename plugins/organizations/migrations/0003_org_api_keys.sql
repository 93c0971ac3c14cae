-- API keys of an organization (docs/plugins/organizations-api-keys.md): `oso_` + 40 random
-- characters, shown once; only a SHA-256 of the key is kept. The key acts as the organization
-- through its service user (a users row `org:<org_id>`), never as the admin who created it;
-- created_by is kept for the record only and gives the key no rights.
create table if not exists org_api_keys (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations(id) on delete cascade,
  name text not null,
  prefix text not null,
  key_hash text not null unique,            -- the resolver's lookup
  role text not null check (role in ('admin', 'member', 'billing')),
  scopes text[] not null default '{}',
  created_by text references users(id) on delete set null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
-- The list (live keys of one organization, newest first) and the per-organization count.
create index if not exists org_api_keys_org_created_idx on org_api_keys (org_id, created_at desc, id desc)
  where revoked_at is null;

-- Organizations, their memberships and their invitations (docs/plugins/organizations.md).
-- Organizations are soft-deleted: a slug is unique among live organizations only.
create table if not exists organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 255),
  slug text not null check (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
  created_by text references users(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);
create unique index if not exists organizations_slug_live_idx on organizations (slug) where deleted_at is null;

create table if not exists org_memberships (
  org_id uuid not null references organizations(id) on delete cascade,
  user_id text not null references users(id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member', 'billing')),
  joined_at timestamptz not null default now(),
  primary key (org_id, user_id)
);
-- "My organizations" (the list) and the members page (newest first, user id as tie-break).
create index if not exists org_memberships_user_idx on org_memberships (user_id, joined_at desc, org_id desc);
create index if not exists org_memberships_org_joined_idx on org_memberships (org_id, joined_at desc, user_id desc);
-- Owners of an organization (last-owner protection).
create index if not exists org_memberships_owners_idx on org_memberships (org_id) where role = 'owner';

-- Invitations: only the SHA-256 (hex) of the emailed token is stored.
create table if not exists org_invitations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations(id) on delete cascade,
  email text not null check (email = lower(email)),
  role text not null check (role in ('owner', 'admin', 'member', 'billing')),
  token_hash text not null unique,
  invited_by text references users(id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by text references users(id) on delete set null,
  declined_at timestamptz,
  revoked_at timestamptz
);
create index if not exists org_invitations_org_idx on org_invitations (org_id, created_at desc, id desc);
-- At most one pending invitation per address and organization.
create unique index if not exists org_invitations_pending_idx on org_invitations (org_id, email)
  where accepted_at is null and declined_at is null and revoked_at is null;

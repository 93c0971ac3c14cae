-- Projects owned by a user (seed 004 "Project Endpoints"); soft-deleted through deleted_at.
-- Search by name: a full-text GIN index over the name with the 'simple' configuration
-- (lower-cased words, no stemming). pg_trgm would serve substring search, but the embedded
-- database (PGlite) ships without it, and both databases must run the same migrations.
create table if not exists projects (
  id uuid primary key default gen_random_uuid(),
  owner_id text not null references users(id) on delete cascade,
  name text not null check (char_length(name) between 1 and 255),
  description text check (description is null or char_length(description) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

-- The list (newest first, id as tie-break) of one owner's live projects.
create index if not exists projects_owner_created_idx on projects (owner_id, created_at desc, id desc)
  where deleted_at is null;
-- ?search=: word-prefix matches over the name, case-insensitive.
create index if not exists projects_name_search_idx on projects using gin (to_tsvector('simple', name))
  where deleted_at is null;

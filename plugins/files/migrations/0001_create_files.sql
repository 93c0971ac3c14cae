-- Files a user uploads (seed 004 "File Endpoints"). A row is `pending` from upload-url until
-- confirm has seen the stored object; pending rows older than FILES_PENDING_TTL_HOURS are removed
-- with their object by the files.cleanup-pending job.
create table if not exists files (
  id uuid primary key,
  owner_id text not null references users(id) on delete cascade,
  key text not null unique,                 -- uploads/{user_id}/{file_id}/{safe filename}
  filename text not null,
  content_type text not null,
  size bigint not null check (size >= 0),
  status text not null default 'pending' check (status in ('pending', 'uploaded')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  uploaded_at timestamptz
);

-- The list (newest first, id as tie-break), with and without ?status=.
create index if not exists files_owner_created_idx on files (owner_id, created_at desc, id desc);
create index if not exists files_owner_status_created_idx on files (owner_id, status, created_at desc, id desc);
-- The cleanup job's scan.
create index if not exists files_pending_created_idx on files (created_at) where status = 'pending';

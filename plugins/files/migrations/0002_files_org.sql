-- Organization-scoped files (docs/plugins/files.md#organizations): a file uploaded while an
-- organization is active carries its id; personal files keep org_id null. No foreign key: the
-- organizations plugin is optional and its table may not exist.
alter table files add column if not exists org_id uuid;

-- An organization's list (newest first, id as tie-break), with and without ?status=, and the
-- purge of a deleted organization's files. Personal lists keep files_owner_*_idx.
create index if not exists files_org_created_idx on files (org_id, created_at desc, id desc)
  where org_id is not null;
create index if not exists files_org_status_created_idx on files (org_id, status, created_at desc, id desc)
  where org_id is not null;

-- Organization-scoped projects (docs/plugins/projects.md#organizations): a project made while an
-- organization is active carries its id; personal projects keep org_id null. No foreign key:
-- the organizations plugin is optional and its table may not exist.
alter table projects add column if not exists org_id uuid;

-- An organization's list (newest first, id as tie-break) and the soft delete on org.deleted.
-- Personal lists keep projects_owner_created_idx (owner_id, then org_id is null per row).
create index if not exists projects_org_created_idx on projects (org_id, created_at desc, id desc)
  where deleted_at is null and org_id is not null;

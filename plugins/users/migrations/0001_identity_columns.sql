-- Columns the users plugin adds to the core's users table: when the identity provider last
-- changed the user (webhooks never apply an older event over a newer one) and when the user
-- was deleted there (the row stays, deactivated and anonymised). Indexes for the admin list.
alter table users add column if not exists idp_updated_at timestamptz;
alter table users add column if not exists deleted_at timestamptz;
create index if not exists users_role_created_idx on users (role, created_at desc, id desc);
create index if not exists users_active_created_idx on users (is_active, created_at desc, id desc);

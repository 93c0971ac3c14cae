-- Audit log (SPEC §7, §9): who did what to which resource, from where. Append-only: entries are
-- written in the transaction of the change they record, and no statement may update or delete
-- them (the trigger below refuses it for every role but a superuser who drops it on purpose).
create table if not exists audit_logs (
  id uuid primary key default gen_random_uuid(),
  actor_id text,                              -- user id of whoever acted (the admin under impersonation)
  action text not null,                       -- `<resource>.<verb>`: user.deactivate, impersonate.start ...
  resource_type text,
  resource_id text,
  details jsonb not null default '{}'::jsonb,
  ip_address text,                            -- client IP per TRUSTED_PROXIES
  request_id text,
  created_at timestamptz not null default now()
);
create index if not exists audit_logs_created_idx on audit_logs (created_at desc, id desc);
create index if not exists audit_logs_actor_idx on audit_logs (actor_id, created_at desc, id desc);
create index if not exists audit_logs_action_idx on audit_logs (action, created_at desc, id desc);
create index if not exists audit_logs_resource_idx on audit_logs (resource_type, resource_id, created_at desc, id desc);

create or replace function audit_logs_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_logs is append-only';
end
$$;
drop trigger if exists audit_logs_append_only on audit_logs;
create trigger audit_logs_append_only before update or delete on audit_logs
  for each row execute function audit_logs_append_only();

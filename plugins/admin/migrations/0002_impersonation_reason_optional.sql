-- The reason of an impersonation is optional (docs/plugins/admin.md clients send only `user_id`);
-- IMPERSONATION_REQUIRE_REASON=true makes the route require it. Null = none given.
alter table impersonation_sessions alter column reason drop not null;

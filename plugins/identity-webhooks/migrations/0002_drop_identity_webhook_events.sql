-- Clerk and Supabase deliveries moved to the core's inbound_events (one pipeline for every
-- provider: stored once per event id, retried, listed at /admin/webhooks/events). The plugin's own
-- table has not been written since; its rows were per-delivery logs, not state, so it goes.
drop table if exists identity_webhook_events;

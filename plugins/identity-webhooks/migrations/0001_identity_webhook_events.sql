-- Deliveries of the identity providers' webhooks (Clerk, Supabase), stored once by their id
-- (svix-id; for Supabase a SHA-256 of the payload) so that a redelivery is acknowledged and not
-- applied twice. A failed delivery may be applied again when the provider retries it.
create table if not exists identity_webhook_events (
  provider text not null check (provider in ('clerk', 'supabase')),
  event_id text not null,
  type text not null,
  user_id text,
  status text not null check (status in ('applied', 'stale', 'ignored', 'failed')),
  error text,
  received_at timestamptz not null default now(),
  primary key (provider, event_id)
);
create index if not exists identity_webhook_events_received_idx on identity_webhook_events (received_at desc);
create index if not exists identity_webhook_events_failed_idx on identity_webhook_events (status) where status = 'failed';

-- Inbound events (webhooks) of every provider (core pipeline, core/inbound): the verified event as received, stored in the
-- same transaction as its effect. (provider, event_id) is unique, so a redelivery or a second
-- replica's concurrent delivery cannot apply an event twice: the database decides.
create table if not exists inbound_events (
  id uuid primary key default gen_random_uuid(),
  provider text not null,                   -- stripe, apple, google (clerk, supabase)
  event_id text not null,                   -- the provider's id: evt_..., notificationUUID, Pub/Sub messageId
  type text not null,
  status text not null check (status in ('applied', 'ignored', 'unmatched', 'failed')),
  subject text,                             -- what it is about: subscription, purchase token, customer
  user_id text,
  environment text,                         -- Apple: Production / Sandbox; Stripe: live / test
  occurred_at timestamptz,                  -- the provider's event time (Stripe created, Apple signedDate, Google eventTimeMillis)
  payload jsonb not null,
  note text,                                -- why it was ignored or left unmatched
  error text,                               -- last failure (no secrets, no SQL)
  attempts integer not null default 0,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  unique (provider, event_id)
);
create index if not exists inbound_events_received_idx on inbound_events (received_at desc, id desc);
create index if not exists inbound_events_provider_idx on inbound_events (provider, received_at desc, id desc);
create index if not exists inbound_events_status_idx on inbound_events (status, received_at desc, id desc);
create index if not exists inbound_events_pending_idx on inbound_events (provider, subject, occurred_at) where status = 'unmatched';

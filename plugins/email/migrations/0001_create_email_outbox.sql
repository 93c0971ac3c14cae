-- Every email the email plugin handled: sent through SMTP (status 'sent') or, without SMTP_URL,
-- kept here for a developer or an admin to read (status 'stored'). dedupe_key makes a retried
-- job send its email once.
create table email_outbox (
  id uuid primary key default gen_random_uuid(),
  dedupe_key text unique,
  to_addresses jsonb not null,
  from_address text not null,
  reply_to text,
  subject text not null,
  text_body text not null,
  html_body text,
  tag text,
  user_id text,
  transport text not null check (transport in ('smtp', 'outbox')),
  status text not null check (status in ('sent', 'stored')),
  message_id text,
  created_at timestamptz not null default now()
);
create index email_outbox_created_idx on email_outbox (created_at desc, id desc);
create index email_outbox_tag_idx on email_outbox (tag, created_at desc);

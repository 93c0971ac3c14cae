-- Billing state. billing_accounts: one row per user with the Stripe customer (created once and
-- reused) and the appAccountToken the server issues for App Store purchases.
-- billing_subscriptions: one record per user and source; last_event_at is the provider's time
-- of the newest change applied, so an older event never overwrites a newer state.
-- billing_mobile_links: purchases the app reported (Google purchase tokens, Apple original
-- transaction ids), which map store notifications to users.
create table if not exists billing_accounts (
  user_id text primary key references users(id) on delete cascade,
  stripe_customer_id text unique,
  app_account_token uuid not null unique default gen_random_uuid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists billing_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id text not null references users(id) on delete cascade,
  source text not null check (source in ('stripe', 'apple', 'google')),
  external_id text not null,                -- sub_..., originalTransactionId, purchaseToken
  product_id text,                          -- Stripe price, App Store product, Play subscription id
  plan text not null,
  status text not null,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  environment text,
  last_event_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, source)
);
create index if not exists billing_subscriptions_external_idx on billing_subscriptions (source, external_id);
create index if not exists billing_subscriptions_status_idx on billing_subscriptions (status, user_id);

create table if not exists billing_mobile_links (
  platform text not null check (platform in ('apple', 'google')),
  purchase_token text not null,
  user_id text not null references users(id) on delete cascade,
  product_id text not null,
  created_at timestamptz not null default now(),
  primary key (platform, purchase_token)
);
create index if not exists billing_mobile_links_user_idx on billing_mobile_links (user_id, created_at desc);

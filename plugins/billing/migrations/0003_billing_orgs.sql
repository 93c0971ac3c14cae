-- Organization billing (docs/plugins/billing.md#organizations-and-seats). No foreign key to
-- organizations: that plugin is optional, and billing's tables exist without it; rows of a
-- deleted organization are removed on `org.deleted`.
-- billing_org_accounts: the organization's own Stripe customer, created once and reused.
-- billing_org_subscriptions: the organization's Stripe subscription, its seat item and the
-- quantity Stripe holds; seat_lock_until is a short lease that serialises seat updates of one
-- organization across workers and replicas.
create table if not exists billing_org_accounts (
  org_id uuid primary key,
  stripe_customer_id text unique,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists billing_org_subscriptions (
  org_id uuid primary key,
  external_id text not null,                -- sub_...
  item_id text,                             -- si_..., the seat item
  quantity integer,
  product_id text,
  plan text not null,
  status text not null,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  environment text,
  last_event_at timestamptz not null,
  seat_lock_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists billing_org_subscriptions_external_idx on billing_org_subscriptions (external_id);

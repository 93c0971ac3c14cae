-- Contact form submissions (seed 004 "Contact Form"). reference_id is the CNT-XXXXXXXX handed
-- to the sender; spam-flagged rows are kept (is_spam) but trigger nothing. job_ids lists the
-- email and webhook jobs enqueued with the row, so admins can follow their delivery.
create table contact_submissions (
  id uuid primary key default gen_random_uuid(),
  reference_id text not null unique,
  name text not null,
  email text not null,
  subject text,
  phone text,
  company text,
  message text not null,
  extra_fields jsonb not null default '{}'::jsonb,
  source text,
  is_spam boolean not null default false,
  spam_reason text,
  ip_address text,
  user_agent text,
  job_ids jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now()
);
create index contact_submissions_created_idx on contact_submissions (created_at desc, id desc);
create index contact_submissions_spam_created_idx on contact_submissions (is_spam, created_at desc, id desc);
create index contact_submissions_email_idx on contact_submissions (lower(email));

-- The key that signs form tokens (minimum fill time), shared by every replica.
create table contact_form_keys (
  id integer primary key check (id = 1),
  secret text not null,
  created_at timestamptz not null default now()
);

-- CSAT (docs/plugins/tickets.md#csat): the survey token of a closed ticket is never stored.
--
-- csat_nonce       random value drawn at close; the token is HMAC-SHA256(TICKETS_CSAT_SECRET, nonce),
--                  so the server can rebuild the link but a database read alone cannot
-- csat_token_hash  hex SHA-256 of the token: how the public form finds its ticket
-- csat_issued_at   when the token was issued (the close); null once voided by a reopen
-- csat_score       'good' | 'bad' (0001), csat_comment (0001), csat_answered_at (0001): the answer
--
-- Tokens issued before this migration were kept in clear in csat_token: they stay valid through
-- their hash and the clear text is dropped (their link cannot be shown again: csat.url is null).

alter table tickets add column if not exists csat_nonce text;
alter table tickets add column if not exists csat_token_hash text;
alter table tickets add column if not exists csat_issued_at timestamptz;

update tickets
  set csat_token_hash = encode(sha256(convert_to(csat_token, 'UTF8')), 'hex'),
      csat_issued_at = coalesce(closed_at, updated_at)
  where csat_token is not null;

drop index if exists tickets_csat_token_idx;
alter table tickets drop column if exists csat_token;

create unique index if not exists tickets_csat_token_hash_idx on tickets (csat_token_hash)
  where csat_token_hash is not null;
-- Answers by time (reports: CSAT over a window).
create index if not exists tickets_csat_answered_idx on tickets (csat_answered_at)
  include (csat_score)
  where deleted_at is null and csat_answered_at is not null;

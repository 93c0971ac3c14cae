-- The outbox list filtered by tag pages newest first with id as tie-break (core/db/paged.ts):
-- the index carries the id too, so the page and a cursor's `(created_at, id) < (...)` read it in order.
create index if not exists email_outbox_tag_created_idx on email_outbox (tag, created_at desc, id desc);
drop index if exists email_outbox_tag_idx;

-- The admin list of inbound events filtered by `type` (newest received first, id as tie-break,
-- core/db/paged.ts): the other filters (provider, status) already have such an index.
create index if not exists inbound_events_type_idx on inbound_events (type, received_at desc, id desc);

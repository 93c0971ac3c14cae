-- A verified delivery whose content fails the provider's shape check is stored as `rejected`
-- (core/inbound: answered 400, never applied, never retried; a redelivery finds the row).
alter table inbound_events drop constraint if exists inbound_events_status_check;
alter table inbound_events add constraint inbound_events_status_check
  check (status in ('applied', 'ignored', 'unmatched', 'failed', 'rejected'));

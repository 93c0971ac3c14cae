-- Tickets opened from contact form submissions (docs/plugins/tickets.md#from-the-contact-plugin):
-- the job tickets.from-contact looks a submission's ticket up by the id it records in
-- custom_fields, so that a retried job never opens a second ticket.
create index if not exists tickets_contact_submission_idx on tickets ((custom_fields->>'contact_submission_id'))
  where source = 'contact';

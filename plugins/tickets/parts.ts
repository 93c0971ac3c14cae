/**
 * The rest of the helpdesk core (docs/plugins/tickets.md), one file each: attachments through the
 * files plugin's storage driver, watchers, queues with stats, SLA policies and the SLA breach scan.
 * This file is their door for the plugin's index, routes and notifier.
 */
export { ATTACHMENT_URL_TTL_SECONDS, createAttachments } from './attachments.ts'
export { createQueues } from './queues.ts'
export { createSlaPolicies, scanSlaBreaches } from './sla.ts'
export { createWatchers } from './watchers.ts'

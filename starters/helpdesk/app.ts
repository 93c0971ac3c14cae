/**
 * Helpdesk starter: users, files and tickets, plus websocket (ticket:<id> channels, watcher
 * notifications) and email (requester notifications). `npm run start:helpdesk` runs it.
 */
import { createApp, type AnyPlugin, type CreateAppOptions } from '../../core/index.ts'
import email from '../../plugins/email/index.ts'
import files from '../../plugins/files/index.ts'
import tickets from '../../plugins/tickets/index.ts'
import users from '../../plugins/users/index.ts'
import websocket from '../../plugins/websocket/index.ts'

export const plugins: AnyPlugin[] = [users, files, tickets, websocket, email]

export function createHelpdeskApp(options: Omit<CreateAppOptions, 'plugins'> = {}) {
  return createApp({ ...options, plugins })
}

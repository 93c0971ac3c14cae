/**
 * SaaS starter: what `npm start` runs. Lists the SaaS plugins; the core orders them by their
 * dependencies, so the order here is only for reading.
 */
import { createApp, type AnyPlugin, type CreateAppOptions } from '../../core/index.ts'
import admin from '../../plugins/admin/index.ts'
import ai from '../../plugins/ai/index.ts'
import billing from '../../plugins/billing/index.ts'
import contact from '../../plugins/contact/index.ts'
import email from '../../plugins/email/index.ts'
import featureFlags from '../../plugins/feature-flags/index.ts'
import files from '../../plugins/files/index.ts'
import identityWebhooks from '../../plugins/identity-webhooks/index.ts'
import organizations from '../../plugins/organizations/index.ts'
import projects from '../../plugins/projects/index.ts'
import usage from '../../plugins/usage/index.ts'
import users from '../../plugins/users/index.ts'
import websocket from '../../plugins/websocket/index.ts'

export const plugins: AnyPlugin[] = [
  users,
  admin,
  identityWebhooks,
  projects,
  files,
  email,
  contact,
  ai,
  billing,
  usage,
  featureFlags,
  websocket,
  organizations,
]

export function createSaasApp(options: Omit<CreateAppOptions, 'plugins'> = {}) {
  return createApp({ ...options, plugins })
}

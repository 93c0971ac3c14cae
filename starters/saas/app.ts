/**
 * SaaS starter: what `npm start` runs. Lists the SaaS plugins; the core orders them by their
 * dependencies, so the order here is only for reading.
 */
import { createApp, type AnyPlugin, type CreateAppOptions } from '../../core/index.ts'
import ai from '../../plugins/ai/index.ts'
import contact from '../../plugins/contact/index.ts'
import email from '../../plugins/email/index.ts'
import files from '../../plugins/files/index.ts'
import projects from '../../plugins/projects/index.ts'
import websocket from '../../plugins/websocket/index.ts'

export const plugins: AnyPlugin[] = [projects, files, email, contact, ai, websocket]

export const createSaasApp = (options: Omit<CreateAppOptions, 'plugins'> = {}) => createApp({ ...options, plugins })

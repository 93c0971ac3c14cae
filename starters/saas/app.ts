/**
 * SaaS starter: what `npm start` runs. Lists the SaaS plugins; the core orders them by their
 * dependencies, so the order here is only for reading.
 */
import { createApp, type AnyPlugin, type CreateAppOptions } from '../../core/index.ts'
import files from '../../plugins/files/index.ts'
import projects from '../../plugins/projects/index.ts'

export const plugins: AnyPlugin[] = [projects, files]

export const createSaasApp = (options: Omit<CreateAppOptions, 'plugins'> = {}) => createApp({ ...options, plugins })

/**
 * SaaS starter: what `npm start` runs. Lists the SaaS plugins; each one ships in its own
 * issue and is added to this list as it lands.
 */
import { createApp, type AnyPlugin, type CreateAppOptions } from '../../core/index.ts'

export const plugins: AnyPlugin[] = []

export const createSaasApp = (options: Omit<CreateAppOptions, 'plugins'> = {}) => createApp({ ...options, plugins })

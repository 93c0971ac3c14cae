/** Users: the caller's profile (v1/v2), API keys as bearers with scopes, identity sync for the webhooks, user stats. */
import { definePlugin } from '../../core/index.ts'
import { createApiKeys, type ApiKeysService } from './api-keys.ts'
import { userRoutes } from './routes.ts'
import { createUsersService, type UsersService } from './service.ts'

export type { ApiKeysService, ApiKeyView } from './api-keys.ts'
export type { IdentityChange, IdentityOutcome, ProfileContributor, UserRow, UserView, UsersService } from './service.ts'

/** What dependents get from ctx.use('users'). */
export interface UsersPluginService extends UsersService {
  apiKeys: ApiKeysService
}

declare module '../../core/index.ts' {
  interface PluginServices {
    users: UsersPluginService
  }
}

/** The service of each app (route factories get a copy of the context; its `events` is the app's). */
const services = new WeakMap<object, UsersPluginService>()
const serviceOf = (ctx: { events: object }) => services.get(ctx.events)!

export default definePlugin({
  name: 'users',
  tag: { name: 'Users', description: 'The current user\'s profile and API keys' },
  migrations: new URL('./migrations/', import.meta.url),
  provides: (ctx): UsersPluginService => {
    const service = Object.assign(createUsersService(ctx), { apiKeys: createApiKeys(ctx) })
    services.set(ctx.events, service)
    return service
  },
  app: (ctx) => userRoutes(ctx, serviceOf(ctx), serviceOf(ctx).apiKeys),
  start: (ctx) => serviceOf(ctx).apiKeys.start(),
  stop: (ctx) => serviceOf(ctx).apiKeys.stop(),
})

/** Users: the caller's profile (v1/v2), API keys as bearers with scopes, identity sync for the webhooks, user stats. */
import { definePlugin } from '../../core/index.ts'
import { createApiKeys, type ApiKeysService } from './api-keys.ts'
import { userRoutes } from './routes.ts'
import { createUsersService, type UsersService } from './service.ts'

export type { ApiKeysService, ApiKeyView } from './api-keys.ts'
export type { IdentityChange, IdentityOutcome, ProfileContributor, UserRow, UserView, UsersService } from './service.ts'

/** What dependents get as `ctx.deps.users` (and `app.service(users)`). */
export interface UsersPluginService extends UsersService {
  apiKeys: ApiKeysService
}

export default definePlugin({
  name: 'users',
  tag: { name: 'Users', description: "The current user's profile and API keys" },
  migrations: new URL('./migrations/', import.meta.url),
  setup: (ctx) => {
    const apiKeys = createApiKeys(ctx)
    const service: UsersPluginService = Object.assign(createUsersService(ctx), { apiKeys })
    return {
      service,
      routes: { app: (r) => userRoutes(r, service, apiKeys) },
      start: () => apiKeys.start(),
      stop: () => apiKeys.stop(),
    }
  },
})

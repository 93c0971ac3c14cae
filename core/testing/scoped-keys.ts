/**
 * Test stand-in for API keys: a bearer `tk_<user>~<scope,scope>` resolves to that (existing) user
 * with exactly those scopes, so a plugin's scope checks can be tested without the users plugin's
 * osk_ keys. Add `scopedKeys` to testApp's plugins and send `keyHeader(user, ...scopes)`.
 */
import { unauthenticated } from '../errors/index.ts'
import type { Principal } from '../auth/index.ts'
import { definePlugin } from '../plugin/index.ts'

export const scopedKeys = definePlugin({
  name: 'test-scoped-keys',
  setup: ({ auth }) => {
    auth.addResolver({
      matches: (token) => token.startsWith('tk_'),
      resolve: async (token): Promise<Principal> => {
        const [id, scopes = ''] = token.slice(3).split('~')
        const user = await auth.users.get(id!)
        if (!user) throw unauthenticated('Invalid API key')
        return { user, kind: 'api_key', scopes: new Set(scopes.split(',').filter(Boolean)) }
      },
    })
    return {}
  },
})

/** Authorization header of a scopedKeys bearer for `user` with `scopes`. */
export const keyHeader = (user: string, ...scopes: string[]) => ({
  authorization: `Bearer tk_${user}~${scopes.join(',')}`,
})

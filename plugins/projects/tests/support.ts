/** Test helper: a bearer format `tk_<user>~<scope,scope>` standing in for API keys (the users plugin's osk_ keys). */
import { definePlugin, unauthenticated, type Principal } from '../../../core/index.ts'

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

export const keyHeader = (user: string, ...scopes: string[]) => ({ authorization: `Bearer tk_${user}~${scopes.join(',')}` })

/** Settings that parse but would not do what a deployment needs: auth, proxies, public URL, CORS. */
import { parseTrustedProxies } from '../http/index.ts'
import { fail, pass, reason, warn, type DoctorCheck } from '../plugin/index.ts'
import type { LoadedConfig } from './variables.ts'

export function checkSettings({ core }: LoadedConfig): DoctorCheck[] {
  return [checkAuth(core), checkProxies(core), checkPublicUrl(core), ...checkCors(core)]
}

type Core = LoadedConfig['core']

function checkAuth(core: Core): DoctorCheck {
  if (core.jwksUrl) return pass('auth', 'bearer tokens verified against AUTH_JWKS_URL')
  if (!core.jwtSecret)
    return fail(
      'auth',
      'no token source: every /app and /admin request answers 401',
      "set AUTH_JWKS_URL (your identity provider's key set) or AUTH_JWT_SECRET (HS256); docs/auth.md",
    )
  if (core.jwtSecret.length < 32)
    return warn(
      'auth',
      `AUTH_JWT_SECRET is ${core.jwtSecret.length} characters: short enough to guess offline from one token`,
      'use at least 32 random characters (openssl rand -base64 48)',
    )
  return pass('auth', 'bearer tokens verified with AUTH_JWT_SECRET (HS256)')
}

function checkProxies(core: Core): DoctorCheck {
  const fix = "list only your proxies' addresses or CIDRs, e.g. TRUSTED_PROXIES=10.0.0.0/8; docs/deployment.md"
  if (!core.trustedProxies)
    return pass('TRUSTED_PROXIES', 'unset: X-Forwarded-For is ignored (clients connect directly)')
  try {
    parseTrustedProxies(core.trustedProxies)
  } catch (err) {
    return fail('TRUSTED_PROXIES', reason(err), fix)
  }
  const everyone = core.trustedProxies
    .split(',')
    .map((e) => e.trim())
    .filter((e) => /^(0\.0\.0\.0|::|::ffff:0\.0\.0\.0)\/0$/.test(e))
  if (everyone.length)
    return fail(
      'TRUSTED_PROXIES',
      `${everyone.join(', ')} trusts every address: any client can forge its IP (per-IP rate limits, audit logs)`,
      fix,
    )
  return pass('TRUSTED_PROXIES', core.trustedProxies)
}

function checkPublicUrl(core: Core): DoctorCheck {
  const production = core.nodeEnv === 'production'
  if (production && !core.publicUrl.startsWith('https://'))
    return fail(
      'PUBLIC_URL',
      `${core.publicUrl} in production: signed URLs and links would go out over plain HTTP`,
      'set PUBLIC_URL to the https:// address clients reach the API at',
    )
  return pass('PUBLIC_URL', core.publicUrl)
}

function checkCors(core: Core): DoctorCheck[] {
  const bad = core.corsOrigins.filter((o) => {
    try {
      return new URL(o).origin !== o.replace(/\/$/, '')
    } catch {
      return true
    }
  })
  if (bad.length)
    return [
      fail(
        'CORS_ORIGINS',
        `never match a browser's Origin header: ${bad.join(', ')}`,
        'list origins as scheme://host[:port] without a path, e.g. https://app.example.com',
      ),
    ]
  return core.corsOrigins.length ? [pass('CORS_ORIGINS', core.corsOrigins.join(', '))] : []
}

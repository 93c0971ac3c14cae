/** Reads and validates the core's and every plugin's variables at once: all failures, one line each. */
import { ConfigError, coreConfigShape, parseConfig, type CoreConfig, type EnvSource } from '../config/index.ts'
import type { AnyPlugin } from '../plugin/index.ts'

function parseDate(name: string, raw: string | undefined, problems: string[]): Date | undefined {
  if (!raw) return undefined
  const d = new Date(raw)
  if (Number.isNaN(d.getTime())) {
    problems.push(`Invalid ${name}: expected a date such as 2026-12-01, got "${raw}"`)
    return undefined
  }
  return d
}

export function loadConfig(plugins: readonly AnyPlugin[], source: EnvSource) {
  const problems: string[] = []
  const core = parseConfig(coreConfigShape, source, problems) as CoreConfig
  core.deprecations = {}
  for (const v of core.deprecatedVersions ?? []) {
    if (!/^v\d+$/.test(v)) problems.push(`Invalid API_DEPRECATED_VERSIONS: expected versions such as v1, got "${v}"`)
    const V = v.toUpperCase()
    core.deprecations[v] = {
      deprecation: parseDate(`API_DEPRECATION_${V}`, source[`API_DEPRECATION_${V}`], problems),
      sunset: parseDate(`API_SUNSET_${V}`, source[`API_SUNSET_${V}`], problems),
    }
  }
  if (core.jwtSecret && core.jwksUrl) {
    problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL are both set: configure exactly one token source')
  }
  const plugin = new Map<string, unknown>()
  for (const p of plugins) plugin.set(p.name, p.config ? parseConfig(p.config, source, problems) : {})
  if (problems.length > 0) throw new ConfigError(problems)
  const publicUrl = (core.publicUrl ?? `http://localhost:${core.port}`).replace(/\/$/, '')
  return { core: { ...core, publicUrl }, plugin }
}

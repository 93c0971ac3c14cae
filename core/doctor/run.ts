/**
 * `npm run doctor` (docs/deployment.md#doctor): the configuration the app would start with,
 * checked with the same readers it starts with, then each service it names reached once. Plugin
 * checks come from their `doctor` hooks. Nothing is called that the configuration does not name.
 */
import type { EnvSource } from '../config/index.ts'
import { bootOrder, fail, reason, type AnyPlugin, type DoctorCheck } from '../plugin/index.ts'
import { checkDatabase } from './database.ts'
import { checkJwks, checkRedis } from './services.ts'
import { checkSettings } from './settings.ts'
import { checkVariables } from './variables.ts'

export interface DoctorOptions {
  plugins: readonly AnyPlugin[]
  env: EnvSource
  /** Each network probe gives up after this (default 5000 ms). */
  timeoutMs?: number
}

export interface DoctorReport {
  ok: boolean
  checks: DoctorCheck[]
  counts: { pass: number; warn: number; fail: number }
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 5000
  const plugins = bootOrder([...options.plugins])
  const { checks, config } = checkVariables(plugins, options.env)
  if (config) {
    const guarded = async (name: string, work: () => DoctorCheck[] | Promise<DoctorCheck[]>) => {
      try {
        return await work()
      } catch (err) {
        return [fail(name, `check failed: ${reason(err)}`, 'see the message; docs/configuration.md')]
      }
    }
    const core = config.core
    const results = await Promise.all([
      guarded('database', () => checkDatabase(config, plugins, timeoutMs)),
      guarded('redis', () => checkRedis(config, timeoutMs)),
      guarded('AUTH_JWKS_URL', () => checkJwks(config, timeoutMs)),
      guarded('settings', () => checkSettings(config)),
      ...plugins
        .filter((p) => p.doctor)
        .map((p) =>
          guarded(p.name, async () =>
            (await p.doctor!({ config: config.plugin.get(p.name), core, timeoutMs })).map((c) => ({
              ...c,
              check: `${p.name}: ${c.check}`,
            })),
          ),
        ),
    ])
    checks.push(...results.flat())
  }
  const counts = { pass: 0, warn: 0, fail: 0 }
  for (const c of checks) counts[c.status]++
  return { ok: counts.fail === 0, checks, counts }
}

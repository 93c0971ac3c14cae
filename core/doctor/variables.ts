/** Every variable of the core and of each installed plugin parses: the same readers the app starts with. */
import { ConfigError, coreConfigShape, type EnvReader, type EnvSource } from '../config/index.ts'
import { loadConfig } from '../app/index.ts'
import { fail, pass, type AnyPlugin, type DoctorCheck } from '../plugin/index.ts'

export type LoadedConfig = ReturnType<typeof loadConfig>

/** The checks, and the parsed configuration when every variable parses. */
export function checkVariables(
  plugins: readonly AnyPlugin[],
  source: EnvSource,
): { checks: DoctorCheck[]; config?: LoadedConfig } {
  const readers = new Map<string, EnvReader<unknown>>()
  for (const shape of [coreConfigShape, ...plugins.map((p) => p.config ?? {})])
    for (const r of Object.values(shape) as EnvReader<unknown>[]) readers.set(r.name, r)
  try {
    const config = loadConfig(plugins, source)
    return { checks: [pass('variables', `${readers.size} variables parse`)], config }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    // One line per problem, named by the variable its message starts with.
    const checks = err.problems.map((problem) => {
      const name = /\b[A-Z][A-Z0-9_]{2,}\b/.exec(problem)?.[0] ?? 'variables'
      const r = readers.get(name)
      const about = r?.description ? ` (${r.description})` : ''
      return fail(name, problem, `set ${name} to a valid value or unset it${about}; docs/configuration.md`)
    })
    return { checks }
  }
}

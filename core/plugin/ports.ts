/**
 * Optional dependencies by name (docs/writing-a-plugin.md#optional-dependencies). A plugin that
 * works better when another is installed names it and declares the port it needs, instead of
 * importing it: its own files then stand alone, so `omnistack create` copies only the plugins
 * that were chosen or are required, and the copy type-checks without the others.
 */
import type { OptionalDependency, OptionalRefs, Plugin, PortOf } from './types.ts'

const NAME = /^[a-z][a-z0-9-]*$/

/**
 * `optionalDependsOn: { organizations: optional<OrgPort>('organizations') }`: the plugin named
 * `name`, seen through `Port` (the part of its service this plugin uses) when it is installed.
 */
export function optional<Port>(name: string): OptionalDependency<Port> {
  if (!NAME.test(name)) throw new Error(`optional dependency "${name}" must be a plugin name (kebab-case)`)
  return { name, optional: true }
}

/** The real plugins behind a plugin's optional dependencies, each required to satisfy its port. */
export type PortProviders<O extends OptionalRefs> = { [K in keyof O]: Plugin<any, PortOf<O[K]>, OptionalRefs> }

/**
 * For a test that imports a plugin and the real providers of its optional dependencies (the
 * repository has them all): passing a provider whose service does not satisfy the port fails
 * `tsc`, so a port cannot drift from the service it stands for. At run time it lists what the
 * types cannot see: a provider whose name is not the one the dependent asks for (a typo would
 * leave the dependency never installed), and a declared dependency without a provider.
 */
export function portMismatches<O extends OptionalRefs>(
  plugin: Plugin<any, any, O>,
  providers: PortProviders<O>,
): string[] {
  const declared = (plugin.optionalDependsOn ?? {}) as OptionalRefs
  const given = providers as Record<string, Plugin<any, any, OptionalRefs> | undefined>
  const out: string[] = []
  for (const [key, ref] of Object.entries(declared)) {
    const provider = given[key]
    if (!provider) out.push(`${plugin.name}: no provider given for optional dependency "${key}"`)
    else if (provider.name !== ref.name)
      out.push(`${plugin.name}: optional dependency "${key}" names "${ref.name}", the provider is "${provider.name}"`)
  }
  for (const key of Object.keys(given))
    if (!(key in declared)) out.push(`${plugin.name}: "${key}" is not one of its optional dependencies`)
  return out
}

/**
 * Optional dependencies go by name, each seen through a port its dependent declares
 * (docs/writing-a-plugin.md#optional-dependencies). This file imports every plugin, so it is where
 * the ports meet the real services:
 * - `npm run typecheck` fails on a `portMismatches` call below when a real service no longer
 *   satisfies the port of a plugin that names it;
 * - each name a plugin gives is the name of the provider passed for it (a typo would leave the
 *   dependency never installed), and every plugin with optional dependencies is checked here.
 */
import { describe, expect, it } from 'bun:test'
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type AnyPlugin, portMismatches } from '../core/index.ts'
import billing from '../plugins/billing/index.ts'
import email from '../plugins/email/index.ts'
import featureFlags from '../plugins/feature-flags/index.ts'
import files from '../plugins/files/index.ts'
import organizations from '../plugins/organizations/index.ts'
import projects from '../plugins/projects/index.ts'
import tickets from '../plugins/tickets/index.ts'
import websocket from '../plugins/websocket/index.ts'

const root = resolve(import.meta.dir, '..')

/** Each plugin with optional dependencies: the mismatches of the real providers with its ports. */
const checked: Record<string, string[]> = {
  billing: portMismatches(billing, { featureFlags, organizations }),
  files: portMismatches(files, { organizations }),
  organizations: portMismatches(organizations, { websocket }),
  projects: portMismatches(projects, { organizations }),
  tickets: portMismatches(tickets, { email, websocket }),
}

async function allPlugins(): Promise<AnyPlugin[]> {
  const names = readdirSync(join(root, 'plugins')).filter((n) => statSync(join(root, 'plugins', n)).isDirectory())
  const mods = await Promise.all(
    names.map((n) => import(join(root, 'plugins', n, 'index.ts')) as Promise<{ default: AnyPlugin }>),
  )
  return mods.map((m) => m.default)
}

describe('optional dependencies: ports and names', () => {
  it('the real providers satisfy each port and carry the names given', () => {
    for (const [plugin, problems] of Object.entries(checked))
      expect({ plugin, problems }).toEqual({ plugin, problems: [] })
  })

  it('every plugin that names optional dependencies is checked here, and each name is a plugin', async () => {
    const plugins = await allPlugins()
    const names = new Set(plugins.map((p) => p.name))
    const withOptional = plugins.filter((p) => Object.keys(p.optionalDependsOn ?? {}).length > 0)
    expect(withOptional.map((p) => p.name).sort()).toEqual(Object.keys(checked).sort())
    const unknown = withOptional.flatMap((p) =>
      Object.values(p.optionalDependsOn ?? {})
        .map((ref) => (ref as { name: string }).name)
        .filter((n) => !names.has(n))
        .map((n) => `${p.name} -> ${n}`),
    )
    expect(unknown).toEqual([])
  })

  it('an optional dependency is a name, never an imported plugin object', async () => {
    for (const p of await allPlugins())
      for (const ref of Object.values(p.optionalDependsOn ?? {}))
        expect(ref).toEqual({ name: ref.name, optional: true })
  })
})

/**
 * Orders plugins so every dependency boots first; a missing or cyclic dependency names both
 * plugins. An optional dependency boots first when it is installed and is ignored otherwise.
 */
export interface Node {
  name: string
  dependsOn?: readonly string[]
  optional?: readonly string[]
}

export class PluginGraphError extends Error {
  override name = 'PluginGraphError'
}

export function orderPlugins<T extends Node>(plugins: readonly T[]): T[] {
  const byName = new Map<string, T>()
  for (const p of plugins) {
    if (byName.has(p.name)) throw new PluginGraphError(`Plugin "${p.name}" is registered twice`)
    byName.set(p.name, p)
  }
  for (const p of plugins) {
    for (const dep of p.dependsOn ?? []) {
      if (!byName.has(dep)) {
        throw new PluginGraphError(`Plugin "${p.name}" depends on "${dep}", which is not installed`)
      }
    }
  }
  const ordered: T[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (p: T, path: string[]) => {
    const s = state.get(p.name)
    if (s === 'done') return
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(p.name)), p.name]
      throw new PluginGraphError(
        `Plugins "${cycle[0]}" and "${cycle[cycle.length - 2]}" depend on each other (cycle: ${cycle.join(' -> ')})`,
      )
    }
    state.set(p.name, 'visiting')
    for (const dep of p.dependsOn ?? []) visit(byName.get(dep)!, [...path, p.name])
    for (const dep of p.optional ?? []) {
      const installed = byName.get(dep)
      if (installed) visit(installed, [...path, p.name])
    }
    state.set(p.name, 'done')
    ordered.push(p)
  }
  // Keep the given order where dependencies allow: deterministic boot and mount order.
  for (const p of plugins) visit(p, [])
  return ordered
}

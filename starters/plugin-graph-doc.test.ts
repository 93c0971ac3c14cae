/**
 * docs/architecture.md#plugin-graph draws the plugins' dependencies as a Mermaid flowchart; this
 * keeps the drawing equal to what the plugins declare (dependsOn and optionalDependsOn), so a new
 * dependency that is not drawn, or an edge that is no longer true, fails here.
 */
import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type AnyPlugin, dependencyNames } from '../core/plugin/index.ts'

const root = resolve(import.meta.dir, '..')

/** The edges of the doc's flowchart, as `from --> to` (required) and `from -.-> to` (optional). */
function drawnEdges(): string[] {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const section = doc.slice(doc.indexOf('## Plugin graph'))
  const chart = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1]
  if (!chart) throw new Error('docs/architecture.md#plugin-graph has no mermaid block')
  const labels = new Map<string, string>()
  const edges: string[] = []
  const node = (token: string) => {
    const m = /^([\w-]+)(?:\[([^\]]+)\])?$/.exec(token)
    if (!m) throw new Error(`unreadable node ${token}`)
    if (m[2]) labels.set(m[1]!, m[2])
    return m[1]!
  }
  for (const line of chart.split('\n').map((l) => l.trim())) {
    const m = /^(\S+)\s+(-->|-\.->)\s+(\S+)$/.exec(line)
    if (!m) continue
    edges.push(`${node(m[1]!)} ${m[2]} ${node(m[3]!)}`)
  }
  return edges.map((e) => e.replace(/[\w-]+/g, (id) => labels.get(id) ?? id)).sort()
}

async function declaredEdges(): Promise<string[]> {
  const edges: string[] = []
  for (const dir of readdirSync(join(root, 'plugins'))) {
    if (!statSync(join(root, 'plugins', dir)).isDirectory()) continue
    const plugin = (await import(join(root, 'plugins', dir, 'index.ts'))).default as AnyPlugin
    const { required, optional } = dependencyNames(plugin)
    for (const dep of required) edges.push(`${dep} --> ${plugin.name}`)
    for (const dep of optional) edges.push(`${dep} -.-> ${plugin.name}`)
  }
  return edges.sort()
}

describe('docs/architecture.md plugin graph', () => {
  it('draws exactly the dependencies the plugins declare', async () => {
    expect(drawnEdges()).toEqual(await declaredEdges())
  })
})

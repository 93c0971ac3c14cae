/**
 * The folder layout is the architecture (docs/tooling.md). The import rules are declared once in
 * .dependency-cruiser.cjs (core knows no plugin or starter; plugins and starters go through doors;
 * core folders form layers and meet through their index.ts; no cycles); this test runs that tool
 * on the tree and adds the checks it cannot express:
 * - a plugin imports another plugin only if it declares it in dependsOn (optional dependencies go
 *   by name, with a port of their own: docs/writing-a-plugin.md#optional-dependencies);
 * - plugin code never reads the environment;
 * - a plugin's `declare module` augments core/index.ts, the only module it may import;
 * - no import built from a string (`import(\`../../starters/${x}\`)`, `new URL('../plugins/...')`)
 *   reaches a starter or a plugin from core, or a starter from a plugin: the tool cannot resolve those.
 * Tests, fixtures and bench scripts are entry points and exempt from the last three.
 */
import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dir, '..')
const rel = (p: string) => relative(root, p)
const isEntry = (p: string) => /(\.test\.ts$|\/(tests|fixtures|bench)\/)/.test(p)

function sources(dir: string): string[] {
  let out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules' || name.startsWith('.')) continue
    if (statSync(p).isDirectory()) out = out.concat(sources(p))
    else if (p.endsWith('.ts') && !isEntry(p)) out.push(p)
  }
  return out
}

const pluginNames = readdirSync(join(root, 'plugins')).filter((n) => statSync(join(root, 'plugins', n)).isDirectory())

interface Cruise {
  summary: { violations: { from: string; to: string; rule: { name: string; severity: string } }[] }
  modules: { source: string; dependencies: { resolved: string }[] }[]
}

// One run of the tool for the whole file (about 10 s on the CI machine). Known violations, listed
// in .dependency-cruiser-known-violations.json until the files being rewritten are done, are ignored.
let cruise: Cruise | undefined
function cruised(): Cruise {
  if (cruise) return cruise
  const run = Bun.spawnSync(
    [
      'node',
      'node_modules/dependency-cruiser/bin/dependency-cruise.mjs',
      '--config',
      '.dependency-cruiser.cjs',
      '--ignore-known',
      '.dependency-cruiser-known-violations.json',
      '--output-type',
      'json',
      'core',
      'plugins',
      'starters',
      'scripts',
      'bench',
    ],
    { cwd: root, stdout: 'pipe', stderr: 'pipe' },
  )
  const out = run.stdout.toString()
  if (!out.startsWith('{')) throw new Error(`dependency-cruiser failed: ${run.stderr.toString().slice(0, 2000)}`)
  cruise = JSON.parse(out) as Cruise
  return cruise
}

describe('boundaries', () => {
  it('obeys the import rules of .dependency-cruiser.cjs', () => {
    const bad = cruised()
      .summary.violations.filter((v) => v.rule.severity !== 'ignore') // 'ignore': a known violation
      .map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
    expect(bad).toEqual([])
  }, 240_000)

  it('lets a plugin import another plugin only when it declares it', async () => {
    const declared = new Map<string, Set<string>>()
    for (const name of pluginNames) {
      const mod = (await import(join(root, 'plugins', name, 'index.ts'))) as {
        default?: { name?: string; dependsOn?: unknown }
      }
      const plugin = mod.default
      expect(plugin?.name).toBe(name) // the folder is named after the plugin
      // dependsOn: { users } (plugin references); a list of names is read the same way.
      const names = (refs: unknown) =>
        Object.values((refs ?? {}) as Record<string, unknown>).map((r) =>
          typeof r === 'string' ? r : (r as { name: string }).name,
        )
      declared.set(name, new Set(names(plugin?.dependsOn)))
    }
    const bad: string[] = []
    for (const m of cruised().modules) {
      const from = /^plugins\/([^/]+)\//.exec(m.source)
      if (!from || isEntry(m.source)) continue
      for (const d of m.dependencies) {
        const to = /^plugins\/([^/]+)\//.exec(d.resolved)
        if (to && to[1] !== from[1] && !declared.get(from[1]!)?.has(to[1]!))
          bad.push(`${m.source} -> ${d.resolved} (not in dependsOn)`)
      }
    }
    expect(bad).toEqual([])
  }, 120_000)

  it('keeps plugin code away from the environment', () => {
    const bad = sources(join(root, 'plugins'))
      .filter((f) => /\b(process\.env|Bun\.env|Deno\.env)\b/.test(readFileSync(f, 'utf8')))
      .map((f) => `${rel(f)} reads the environment`)
    expect(bad).toEqual([])
  })

  it('augments only core/index.ts from a plugin', () => {
    const bad: string[] = []
    for (const f of sources(join(root, 'plugins'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*declare\s+module\s+['"]([^'"]+)['"]/gm)) {
        const target = m[1]!.startsWith('.') ? rel(resolve(dirname(f), m[1]!)) : m[1]!
        if (target !== 'core/index.ts') bad.push(`${rel(f)} augments ${m[1]}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('builds no import path from a string that reaches a starter or a plugin', () => {
    // import(`...`), import('...' + x) and new URL('...', import.meta.url): the literal part is enough
    // to tell where it points.
    const DYNAMIC = /(?:\bimport\s*\(|\bnew\s+URL\s*\()\s*[`'"]([^`'"$]*)/g
    const bad: string[] = []
    for (const [area, forbidden] of [
      ['core', /^(plugins|starters)(\/|$)/],
      ['plugins', /^starters(\/|$)/],
    ] as const) {
      for (const f of sources(join(root, area))) {
        for (const m of readFileSync(f, 'utf8').matchAll(DYNAMIC)) {
          const spec = m[1]!
          if (!spec.startsWith('.')) continue
          if (forbidden.test(rel(resolve(dirname(f), spec)))) bad.push(`${rel(f)} -> ${spec}`)
        }
      }
    }
    expect(bad).toEqual([])
  })
})

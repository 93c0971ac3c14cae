/**
 * The folder layout is the architecture: core/ knows no plugin; a plugin imports only
 * core/index.ts, its own files, and the index.ts of plugins it declares in dependsOn; plugins
 * never read the environment. Tests, fixtures and bench scripts are exempt (entry points, not plugin code).
 */
import { describe, expect, it } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dir, '..')
const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function sources(dir: string): string[] {
  let out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'node_modules' || name.startsWith('.')) continue
    if (statSync(p).isDirectory()) out = out.concat(sources(p))
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !/\/(tests|fixtures|bench)\//.test(p)) out.push(p)
  }
  return out
}

const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!).filter((s) => s.startsWith('.'))

describe('boundaries', () => {
  it('keeps core free of plugin imports', () => {
    const bad = sources(join(root, 'core')).flatMap((f) =>
      importsOf(f)
        .filter((s) => resolve(f, '..', s).startsWith(join(root, 'plugins')))
        .map((s) => `${relative(root, f)} -> ${s}`),
    )
    expect(bad).toEqual([])
  })

  it('lets a plugin import only the core door, itself and declared dependencies', async () => {
    const bad: string[] = []
    let plugins: string[] = []
    try {
      plugins = readdirSync(join(root, 'plugins')).filter((n) => statSync(join(root, 'plugins', n)).isDirectory())
    } catch {}
    for (const name of plugins) {
      const dir = join(root, 'plugins', name)
      const mod = await import(join(dir, 'index.ts')).catch(() => ({}))
      const deps = new Set<string>(((mod as { default?: { dependsOn?: string[] } }).default?.dependsOn ?? []) as string[])
      for (const file of sources(dir)) {
        const text = readFileSync(file, 'utf8')
        if (/\b(process\.env|Bun\.env|Deno\.env)\b/.test(text)) bad.push(`${relative(root, file)} reads the environment`)
        for (const spec of importsOf(file)) {
          const target = resolve(file, '..', spec)
          if (target.startsWith(dir + '/')) continue
          if (target === join(root, 'core', 'index.ts')) continue
          const other = /^plugins\/([^/]+)\/index\.ts$/.exec(relative(root, target))
          if (other && deps.has(other[1]!)) continue
          bad.push(`${relative(root, file)} -> ${spec}`)
        }
      }
    }
    expect(bad).toEqual([])
  })
})

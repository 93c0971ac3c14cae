/**
 * What `omnistack create` copies and writes, decided before anything is written (scripts/create.ts
 * asks the questions and writes the plan):
 * - the core, the chosen starter (with starters/launch.ts) and the chosen plugins plus every plugin
 *   they require (`dependsOn`, transitively), installed in the starter's app.ts, and nothing else:
 *   an optional dependency goes by name with a port its dependent declares
 *   (docs/writing-a-plugin.md#optional-dependencies), so a plugin that is not installed is not
 *   copied (the README names the ones the installed plugins could use);
 * - the tests of what was copied: a test, fixture or bench file whose relative imports reach a file
 *   that was not copied (another plugin, a repository script) is left out, so what is left runs;
 *   the starter's own tests only when its plugin list is the starter's;
 * - a package.json with only the packages the copied files import (tests' packages as
 *   devDependencies), each pinned to the exact version this repository's package-lock.json
 *   resolved, and no lockfile;
 * - .env.example for exactly those plugins (scripts/env-docs.ts), README, .ci/run, docker-compose.yml,
 *   Dockerfile, the test runner (scripts/test.sh, one file per process) and docs/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, posix } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AnyPlugin } from '../core/index.ts'
import { bootOrder } from '../core/plugin/index.ts'
import { envExample } from './env-docs.ts'
import { appModule, composeFile, ciRun, dockerfile, readme } from './create-files.ts'

export interface Plan {
  starter: string
  /** Every plugin copied, in boot order: the chosen ones and what they require. */
  plugins: string[]
  /** Plugins pulled in by another plugin's dependsOn, not chosen. */
  required: string[]
  /** Plugins not copied that an installed one names in optionalDependsOn (works without them). */
  optional: string[]
  /** False when the plugin list is the starter's own (its app.ts and tests are copied as they are). */
  custom: boolean
  /** Repository-relative paths copied as they are. */
  files: string[]
  /** Files written for the new app: path -> content. */
  generated: Map<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

export interface PlanOptions {
  root: string
  name: string
  starter: string
  /** Plugin folder names; undefined = the starter's own list. */
  plugins?: string[]
}

/** Thrown for a choice that cannot be planned (unknown starter or plugin). */
export class CreateError extends Error {}

const SKIP = /(^|\/)(node_modules|\.data[^/]*|\.tmp|\.git|coverage)(\/|$)/
/** Files that only tests, fixtures and benchmarks use: dropped when they reach what was not copied. */
const TEST_ONLY = /(\.test\.ts$|(^|\/)(tests|fixtures|bench)\/|^core\/testing\/)/
const ALWAYS_DEV = ['bun', 'bun-types', 'deno', 'typescript']
const BUILTIN = new Set([...builtinModules, 'bun'])

function walk(root: string, dir: string): string[] {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs, { withFileTypes: true }).flatMap((d) => {
    const rel = posix.join(dir, d.name)
    if (SKIP.test(rel)) return []
    return d.isDirectory() ? walk(root, rel) : [rel]
  })
}

const folders = (root: string, dir: string, marker: string) =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, dir, d.name, marker)))
    .map((d) => d.name)
    .sort()

/** Starters that can be created: a folder with app.ts and server.ts. */
export const starterChoices = (root: string) =>
  folders(root, 'starters', 'app.ts').filter((s) => existsSync(join(root, 'starters', s, 'server.ts')))
export const pluginChoices = (root: string) => folders(root, 'plugins', 'index.ts')

export async function loadPlugin(root: string, name: string): Promise<AnyPlugin> {
  const mod = (await import(pathToFileURL(join(root, 'plugins', name, 'index.ts')).href)) as { default: AnyPlugin }
  return mod.default
}

export async function starterPluginNames(root: string, starter: string): Promise<string[]> {
  const mod = (await import(pathToFileURL(join(root, 'starters', starter, 'app.ts')).href)) as {
    plugins: AnyPlugin[]
  }
  return mod.plugins.map((p) => p.name)
}

export interface Resolved {
  /** The chosen plugins and every plugin they require (dependsOn, transitively), in boot order. */
  installed: AnyPlugin[]
  /** Plugins an installed one names in optionalDependsOn that are not installed (nor copied). */
  optional: string[]
}

export async function resolvePlugins(root: string, chosen: string[]): Promise<Resolved> {
  const known = pluginChoices(root)
  const unknown = chosen.filter((n) => !known.includes(n))
  if (unknown.length) throw new CreateError(`Unknown plugin ${unknown.join(', ')}. Plugins: ${known.join(', ')}.`)
  const installed = new Map<string, AnyPlugin>()
  const visit = async (name: string) => {
    if (installed.has(name)) return
    const plugin = await loadPlugin(root, name)
    installed.set(name, plugin)
    for (const dep of Object.values(plugin.dependsOn ?? {})) await visit(dep.name)
  }
  for (const name of chosen) await visit(name)
  const named = [...installed.values()].flatMap((p) => Object.values(p.optionalDependsOn ?? {}).map((d) => d.name))
  return {
    installed: bootOrder([...installed.values()]),
    optional: [...new Set(named)].filter((n) => !installed.has(n)).sort(),
  }
}

interface Refs {
  relative: string[]
  /** Imported packages: each must be in package.json. */
  packages: string[]
  /** Packages named in `require.resolve('x')` or `pkg: 'x'`: kept when package.json has them. */
  resolved: string[]
}

const PACKAGE = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/')

/** The imports of a TypeScript file: relative paths (also `new URL('./x', import.meta.url)`) and packages. */
export function referencesOf(text: string): Refs {
  const specs = [
    ...text.matchAll(/^\s*import\s[^;]*?\bfrom\s+['"]([^'"\n]+)['"]/gm),
    ...text.matchAll(/^\s*export\s+(?:type\s+)?[*{][^;]*?\bfrom\s+['"]([^'"\n]+)['"]/gm),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s+['"]([^'"\n]+)['"]/gm),
    ...text.matchAll(/\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g),
  ].map((m) => m[1]!)
  const urls = [...text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"\n]*)['"]\s*,\s*import\.meta\.url\s*\)/g)].map(
    (m) => m[1]!,
  )
  // Packages resolved by name at run time (docs-pages serves swagger-ui-dist and redoc files).
  const resolved = [
    ...text.matchAll(/\.resolve\(\s*['"]([^'".\n][^'"\n]*)['"]\s*\)/g),
    ...text.matchAll(/\bpkg:\s*['"]([^'"\n]+)['"]/g),
  ].map((m) => m[1]!)
  const bare = (list: string[]) =>
    list
      .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !s.startsWith('bun:'))
      .map(packageOf)
      .filter((p) => PACKAGE.test(p) && !BUILTIN.has(p))
  return {
    relative: [...specs, ...urls].filter((s) => s.startsWith('.')),
    packages: bare(specs),
    resolved: bare(resolved),
  }
}

/**
 * Keeps the files whose relative references all land in the set; drops test-only files that do
 * not, until nothing changes. A source file that reaches outside the set is a bug: it throws.
 */
function closeOver(candidates: string[], read: (file: string) => string): string[] {
  const set = new Set(candidates)
  const isIn = (path: string) => set.has(path) || (path.endsWith('/') && [...set].some((f) => f.startsWith(path)))
  for (let changed = true; changed; ) {
    changed = false
    for (const file of [...set].filter((f) => f.endsWith('.ts'))) {
      const refs = referencesOf(read(file)).relative
      const missing = refs
        .map((r) => posix.join(posix.dirname(file), r))
        .filter((p) => !p.startsWith('node_modules/') && !p.startsWith('../') && !isIn(p))
      if (missing.length === 0) continue
      if (!TEST_ONLY.test(file))
        throw new CreateError(`${file} imports ${missing.join(', ')}, which would not be copied`)
      set.delete(file)
      changed = true
    }
  }
  return [...set].sort()
}

function packagesOf(root: string, files: string[], extra: Map<string, string>) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
  const range = (name: string) => pkg.dependencies[name] ?? pkg.devDependencies[name]
  const runtime = new Set<string>()
  const dev = new Set<string>(ALWAYS_DEV.filter(range))
  const sources = [
    ...files.filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(join(root, f), 'utf8')] as const),
    ...[...extra].filter(([f]) => f.endsWith('.ts')),
  ]
  for (const [file, text] of sources) {
    const refs = referencesOf(text)
    for (const name of refs.packages)
      if (!range(name)) throw new CreateError(`${file} imports ${name}, which is not in package.json`)
    for (const name of [...refs.packages, ...refs.resolved.filter(range)])
      (TEST_ONLY.test(file) ? dev : runtime).add(name)
  }
  for (const name of [...runtime, ...dev]) if (range(`@types/${name}`)) dev.add(`@types/${name}`)
  for (const name of runtime) dev.delete(name)
  // Exact versions, the ones package-lock.json resolved and this repository was tested with: a
  // range would let the new app's first `npm install` take any later release, and one that breaks
  // it breaks every new app (docs/getting-started.md#pinned-versions). A package the lockfile does
  // not list (or no lockfile) keeps its package.json range.
  const lockFile = join(root, 'package-lock.json')
  const locked = existsSync(lockFile)
    ? (JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { version?: string }> }).packages
    : {}
  const version = (name: string) => locked[`node_modules/${name}`]?.version ?? range(name)!
  const pick = (names: Set<string>) => Object.fromEntries([...names].sort().map((n) => [n, version(n)]))
  return { dependencies: pick(runtime), devDependencies: pick(dev) }
}

export async function planApp(opts: PlanOptions): Promise<Plan> {
  const { root, starter } = opts
  const starters = starterChoices(root)
  if (!starters.includes(starter))
    throw new CreateError(`Unknown starter "${starter}". Starters: ${starters.join(', ')}.`)
  const own = await starterPluginNames(root, starter)
  const chosen = opts.plugins ?? own
  const { installed: plugins, optional } = await resolvePlugins(root, chosen)
  const names = plugins.map((p) => p.name)
  const custom = [...names].sort().join() !== [...own].sort().join()

  const starterFiles = walk(root, `starters/${starter}`).filter(
    (f) => !/\/(README\.md|\.env\.example)$/.test(f) && !(custom && (f.endsWith('/app.ts') || f.endsWith('.test.ts'))),
  )
  const docs = walk(root, 'docs').filter((f) => {
    const page = /^docs\/plugins\/([^/]+)\.md$/.exec(f)
    return !page || names.includes(page[1]!)
  })
  const candidates = [
    ...walk(root, 'core'),
    ...names.flatMap((n) => walk(root, `plugins/${n}`)),
    ...starterFiles,
    'starters/launch.ts',
    ...docs,
    ...['scripts/test.sh', 'scripts/doctor.ts', 'tsconfig.json', 'bunfig.toml', '.gitignore'].filter((f) =>
      existsSync(join(root, f)),
    ),
  ]

  const generated = new Map<string, string>()
  if (custom) {
    // The factory server.ts imports from app.ts (createSaasApp, createMinimalApp, ...).
    const server = readFileSync(join(root, 'starters', starter, 'server.ts'), 'utf8')
    const factory = /import \{\s*(\w+)\s*\} from '\.\/app\.ts'/.exec(server)?.[1]
    if (!factory) throw new CreateError(`starters/${starter}/server.ts does not import its app factory from ./app.ts`)
    generated.set(`starters/${starter}/app.ts`, appModule(starter, factory, plugins))
  }
  const files = closeOver(
    [...new Set([...candidates, ...generated.keys()])],
    (f) => generated.get(f) ?? readFileSync(join(root, f), 'utf8'),
  ).filter((f) => !generated.has(f))
  const { dependencies, devDependencies } = packagesOf(root, files, generated)

  const read = (f: string) => readFileSync(join(root, f), 'utf8')
  const scripts = {
    start: `bun --max-http-header-size=1048576 starters/${starter}/server.ts`,
    'start:deno': `deno run -A starters/${starter}/server.ts`,
    dev: `bun --max-http-header-size=1048576 --watch starters/${starter}/server.ts`,
    migrate: `bun core/db/cli-migrate.ts starters/${starter}/app.ts`,
    doctor: `bun scripts/doctor.ts --starter ${starter}`,
    test: 'bash scripts/test.sh',
    typecheck: 'tsc --noEmit -p .',
  }
  const root_ = JSON.parse(read('package.json')) as { engines?: object; allowScripts?: object }
  const pkg = {
    name: opts.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts,
    dependencies,
    devDependencies,
    ...(root_.allowScripts ? { allowScripts: root_.allowScripts } : {}),
    ...(root_.engines ? { engines: root_.engines } : {}),
  }
  generated.set('package.json', `${JSON.stringify(pkg, null, 2)}\n`)
  generated.set(
    '.env.example',
    envExample(
      plugins,
      `Environment of ${opts.name} (the core and ${names.join(', ') || 'no plugin'}): every variable they
read, with its default, written by \`omnistack create\` from their declarations. Every variable
is optional: the defaults run on a fresh machine. Copy to .env (Bun loads it) and uncomment what you change.`,
    ),
  )
  generated.set(
    'README.md',
    readme({ name: opts.name, starter, plugins, required: names.filter((n) => !chosen.includes(n)), optional }),
  )
  if (existsSync(join(root, '.ci/run'))) generated.set('.ci/run', ciRun(read('.ci/run'), Object.keys(scripts)))
  if (existsSync(join(root, 'docker-compose.yml')))
    generated.set('docker-compose.yml', composeFile(read('docker-compose.yml'), names.includes('files')))
  if (existsSync(join(root, 'Dockerfile')))
    generated.set('Dockerfile', dockerfile(read('Dockerfile'), starter, names.length > 0))

  return {
    starter,
    plugins: names,
    required: names.filter((n) => !chosen.includes(n)),
    optional,
    custom,
    files,
    generated,
    dependencies,
    devDependencies,
  }
}

/** Is `dir` absent, or an empty folder? */
export function isEmptyTarget(dir: string): boolean {
  if (!existsSync(dir)) return true
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0
}

/** This repository: what `omnistack create` copies from. */
export const repoRoot = join(dirname(new URL(import.meta.url).pathname), '..')

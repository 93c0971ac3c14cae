/**
 * The environment docs are generated from the readers the core and the plugins declare, so they
 * cannot drift (starters/env-example.test.ts compares):
 * - `bun scripts/env-docs.ts --write` writes starters/<name>/.env.example for every starter;
 * - `bun scripts/env-docs.ts --starter <name>` prints one of them;
 * - `bun scripts/env-docs.ts --table` prints the SaaS starter's plugin variables as README table rows.
 * `omnistack create` writes a new app's .env.example with `envExample` for exactly its plugins.
 */
import { readdirSync, existsSync, writeFileSync } from 'node:fs'
import { coreConfigShape } from '../core/config/index.ts'
import type { AnyPlugin } from '../core/index.ts'
import { bootOrder } from '../core/plugin/index.ts'

interface Reader {
  name: string
  defaultText: string
  description: string
}

const readersOf = (shape: object | undefined) => Object.values(shape ?? {}) as Reader[]
const line = (r: Reader) =>
  `# ${r.name}=${r.defaultText}${r.description ? `    # ${r.description.replace(/\s+/g, ' ')}` : ''}`

/** Every variable the core and these plugins read, as the names they are read by. */
export function envNames(plugins: readonly AnyPlugin[]): string[] {
  return [readersOf(coreConfigShape), ...bootOrder(plugins).map((p) => readersOf(p.config))].flat().map((r) => r.name)
}

/** A .env.example: a header, the core's variables, then each plugin's in boot order, all commented out. */
export function envExample(plugins: readonly AnyPlugin[], header: string): string {
  const sections = [
    `${header
      .trim()
      .split('\n')
      .map((l) => `# ${l}`.trimEnd())
      .join('\n')}`,
    ['# --- core', ...readersOf(coreConfigShape).map(line)].join('\n'),
  ]
  for (const p of bootOrder(plugins)) {
    const readers = readersOf(p.config)
    if (readers.length > 0) sections.push([`# --- ${p.name} plugin`, ...readers.map(line)].join('\n'))
  }
  return `${sections.join('\n\n')}\n`
}

/** The header of starters/<name>/.env.example. */
export function starterHeader(starter: string, plugins: readonly AnyPlugin[]): string {
  const names = plugins.length
    ? bootOrder(plugins)
        .map((p) => p.name)
        .join(', ')
    : 'no plugin'
  return `Environment of the ${starter} starter (the core and ${names}): every variable they read,
with its default. Generated from their declarations by \`bun scripts/env-docs.ts --write\`;
do not edit (starters/env-example.test.ts fails when it drifts). Every variable is optional:
the defaults run on a fresh machine. Copy to .env (Bun loads it) and uncomment what you change.`
}

/** The starters: folders of starters/ with an app.ts that exports `plugins`. */
export function starterNames(): string[] {
  const dir = new URL('../starters/', import.meta.url)
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/app.ts`, dir)))
    .map((d) => d.name)
    .sort()
}

export async function starterPlugins(starter: string): Promise<AnyPlugin[]> {
  const mod = (await import(new URL(`../starters/${starter}/app.ts`, import.meta.url).href)) as { plugins: AnyPlugin[] }
  return mod.plugins
}

export async function starterEnvExample(starter: string): Promise<string> {
  const plugins = await starterPlugins(starter)
  return envExample(plugins, starterHeader(starter, plugins))
}

function tableRows(plugins: readonly AnyPlugin[]): string[] {
  return plugins.flatMap((p) =>
    readersOf(p.config).map(
      (r) => `| ${p.name} | ${r.name} | ${r.defaultText || 'unset'} | ${r.description.replace(/\|/g, '\\|')} |`,
    ),
  )
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  if (args.includes('--table')) {
    console.log(tableRows(await starterPlugins('saas')).join('\n'))
  } else if (args.includes('--write')) {
    for (const starter of starterNames()) {
      const file = new URL(`../starters/${starter}/.env.example`, import.meta.url)
      writeFileSync(file, await starterEnvExample(starter))
      console.log(`wrote starters/${starter}/.env.example`)
    }
  } else {
    const at = args.indexOf('--starter')
    const starter = at >= 0 ? args[at + 1] : undefined
    if (!starter || !starterNames().includes(starter)) {
      console.error(`usage: bun scripts/env-docs.ts --write | --table | --starter <${starterNames().join('|')}>`)
      process.exit(2)
    }
    process.stdout.write(await starterEnvExample(starter))
  }
}

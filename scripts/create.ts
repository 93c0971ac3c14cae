/**
 * `omnistack create <folder> [--starter <name>] [--plugins a,b,c] [--yes]` (also
 * `npm run create -- ...`): a new app from a starter and only the chosen plugins, with their
 * dependencies resolved (scripts/create-plan.ts decides what is copied). Asks for what the flags
 * leave out when run in a terminal; `--yes` takes the defaults (the saas starter with its own
 * plugins). Refuses a folder that is not empty. The result runs with `npm install && npm start`.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import * as prompt from '@clack/prompts'
import {
  CreateError,
  isEmptyTarget,
  loadPlugin,
  type Plan,
  planApp,
  pluginChoices,
  repoRoot,
  starterChoices,
  starterPluginNames,
} from './create-plan.ts'

const USAGE = `usage: omnistack create <folder> [--starter <name>] [--plugins a,b,c] [--yes]
  --starter, -s   the starter to copy (default saas)
  --plugins, -p   plugins to install instead of the starter's own (comma-separated; '' = none);
                  the plugins they require are added
  --yes, -y       no questions: defaults for what is not given`

/** A package name for the folder: lower case, npm's allowed characters. */
export const packageName = (folder: string) =>
  basename(resolve(folder))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '') || 'omnistack-app'

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

interface Choices {
  folder: string
  starter: string
  plugins?: string[]
}

/** Fills what the flags left out: by asking in a terminal, else with the defaults. */
async function choose(flags: Partial<Choices>, interactive: boolean): Promise<Choices | undefined> {
  const starters = starterChoices(repoRoot)
  if (!interactive) {
    if (!flags.folder) throw new CreateError(`Give the folder of the new app.\n${USAGE}`)
    return { folder: flags.folder, starter: flags.starter ?? 'saas', plugins: flags.plugins }
  }
  prompt.intro('omnistack create')
  const folder =
    flags.folder ??
    (await prompt.text({
      message: 'Folder of the new app',
      placeholder: 'my-app',
      validate: (v) => (!v ? 'A folder is needed' : isEmptyTarget(resolve(v)) ? undefined : `${v} is not empty`),
    }))
  if (prompt.isCancel(folder)) return undefined
  const starter =
    flags.starter ??
    (await prompt.select({
      message: 'Starter',
      initialValue: starters.includes('saas') ? 'saas' : starters[0],
      options: await Promise.all(
        starters.map(async (s) => {
          const own = await starterPluginNames(repoRoot, s)
          return { value: s, label: s, hint: own.length ? own.join(', ') : 'the core alone' }
        }),
      ),
    }))
  if (prompt.isCancel(starter)) return undefined
  let plugins = flags.plugins
  if (!plugins) {
    const own = await starterPluginNames(repoRoot, starter)
    const options = await Promise.all(
      pluginChoices(repoRoot).map(async (name) => ({
        value: name,
        label: name,
        hint: (await loadPlugin(repoRoot, name)).tag?.description,
      })),
    )
    const picked = await prompt.multiselect({
      message: 'Plugins (the ones they require are added)',
      options,
      initialValues: own,
      required: false,
    })
    if (prompt.isCancel(picked)) return undefined
    plugins = picked
  }
  return { folder, starter, plugins }
}

function write(plan: Plan, dest: string) {
  mkdirSync(dest, { recursive: true })
  for (const file of plan.files) {
    mkdirSync(dirname(join(dest, file)), { recursive: true })
    copyFileSync(join(repoRoot, file), join(dest, file))
  }
  for (const [file, text] of plan.generated) {
    mkdirSync(dirname(join(dest, file)), { recursive: true })
    writeFileSync(join(dest, file), text)
  }
  chmodSync(join(dest, '.ci/run'), 0o755)
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: {
      starter: { type: 'string', short: 's' },
      plugins: { type: 'string', short: 'p' },
      yes: { type: 'boolean', short: 'y' },
      help: { type: 'boolean', short: 'h' },
    },
  })

export async function create(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (positionals.length > 1) {
    console.error(`One folder, got ${positionals.join(' ')}.\n${USAGE}`)
    return 2
  }
  const flags = {
    folder: positionals[0],
    starter: values.starter,
    plugins: values.plugins === undefined ? undefined : list(values.plugins),
  }
  try {
    if (flags.folder && !isEmptyTarget(resolve(flags.folder)))
      throw new CreateError(`${flags.folder} exists and is not empty: give a new or empty folder.`)
    const choices = await choose(flags, !values.yes && Boolean(process.stdin.isTTY))
    if (!choices) {
      prompt.cancel('Nothing created.')
      return 1
    }
    const dest = resolve(choices.folder)
    if (!isEmptyTarget(dest)) throw new CreateError(`${choices.folder} exists and is not empty.`)
    const plan = await planApp({
      root: repoRoot,
      name: packageName(choices.folder),
      starter: choices.starter,
      plugins: choices.plugins,
    })
    write(plan, dest)
    const shown = relative(process.cwd(), dest) || '.'
    console.log(
      [
        `Created ${shown} from the ${plan.starter} starter.`,
        `  plugins: ${plan.plugins.join(', ') || 'none (the core alone)'}${plan.required.length ? ` (${plan.required.join(', ')} required by the others)` : ''}`,
        ...(plan.optional.length ? [`  can also use (not copied): ${plan.optional.join(', ')}`] : []),
        `  dependencies: ${Object.keys(plan.dependencies).join(', ')}`,
        '',
        `  cd ${shown} && npm install && npm start`,
      ].join('\n'),
    )
    return 0
  } catch (err) {
    if (!(err instanceof CreateError)) throw err
    console.error(err.message)
    return 2
  }
}

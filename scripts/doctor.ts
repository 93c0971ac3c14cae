/**
 * `npm run doctor` (and `omnistack doctor`): checks the configuration a starter would start with
 * and prints a table of pass / warn / fail, each with its fix; exits 1 on any fail
 * (docs/deployment.md#doctor).
 *
 *   bun scripts/doctor.ts [--starter saas|minimal|helpdesk] [--app <module>] [--json] [--timeout <ms>]
 *
 * The starter comes from --starter, else STARTER, else saas; --app names any module that exports
 * `plugins` instead. Variables come from the environment (Bun also reads .env).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { processEnv } from '../core/config/index.ts'
import { formatReport, runDoctor } from '../core/doctor/index.ts'
import type { AnyPlugin } from '../core/index.ts'

const USAGE = 'usage: doctor [--starter <name>] [--app <module>] [--json] [--timeout <ms>]'

function option(args: string[], name: string): string | undefined {
  const at = args.findIndex((a) => a === name || a.startsWith(`${name}=`))
  if (at < 0) return undefined
  return args[at]!.includes('=') ? args[at]!.slice(name.length + 1) : args[at + 1]
}

/** Runs the doctor; returns the exit code (0: no fail, 1: a fail, 2: bad usage). */
export async function doctorCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE)
    return 0
  }
  const env = processEnv()
  const app = option(args, '--app')
  const starter = option(args, '--starter') ?? env.STARTER ?? 'saas'
  const module = app ? resolve(app) : new URL(`../starters/${starter}/app.ts`, import.meta.url).pathname
  if (!existsSync(module)) {
    console.error(app ? `No such module: ${app}` : `Unknown starter "${starter}" (no starters/${starter}/app.ts)`)
    console.error(USAGE)
    return 2
  }
  const timeout = Number(option(args, '--timeout') ?? 5000)
  if (!Number.isInteger(timeout) || timeout < 100) {
    console.error(`--timeout: expected milliseconds >= 100\n${USAGE}`)
    return 2
  }
  const { plugins } = (await import(pathToFileURL(module).href)) as { plugins: AnyPlugin[] }
  const report = await runDoctor({ plugins, env, timeoutMs: timeout })
  if (args.includes('--json')) console.log(JSON.stringify({ app: app ?? starter, ...report }, null, 2))
  else console.log(`OmniStack doctor: ${app ?? `starter ${starter}`}\n\n${formatReport(report)}`)
  return report.ok ? 0 : 1
}

if (import.meta.main) process.exit(await doctorCommand(process.argv.slice(2)))

/**
 * `npm start` (Bun) and `npm run start:deno` (Deno): runs starters/<name>/server.ts, where the
 * name comes from `--starter <name>`, else STARTER, else saas. Only folders that have a
 * server.ts are offered.
 */
import { existsSync, readdirSync } from 'node:fs'

const here = new URL('./', import.meta.url)
const starters = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/server.ts`, here)))
  .map((d) => d.name)
  .sort()

const args = process.argv.slice(2)
const at = args.findIndex((a) => a === '--starter' || a.startsWith('--starter='))
const flag = at < 0 ? undefined : args[at]!.includes('=') ? args[at]!.slice('--starter='.length) : args[at + 1]
const name = flag ?? process.env.STARTER ?? 'saas'

if (!starters.includes(name)) {
  console.error(
    `Unknown starter "${name}". Choose one of: ${starters.join(', ')} (--starter <name> or STARTER=<name>).`,
  )
  process.exit(2)
}
await import(new URL(`${name}/server.ts`, here).href)

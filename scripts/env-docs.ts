/**
 * Prints the variables of the SaaS starter's plugins, as README table rows (`--table`) or as
 * `.env.example` lines (default): the docs are generated from the readers plugins declare.
 */
import { plugins } from '../starters/saas/app.ts'

const table = process.argv.includes('--table')
for (const p of plugins) {
  const readers = Object.values(p.config ?? {}) as { name: string; defaultText: string; description: string }[]
  if (readers.length === 0) continue
  if (!table) console.log(`\n# --- ${p.name} plugin`)
  for (const r of readers) {
    if (table)
      console.log(`| ${p.name} | ${r.name} | ${r.defaultText || 'unset'} | ${r.description.replace(/\|/g, '\\|')} |`)
    else console.log(`# ${r.name}=${r.defaultText}${r.description ? `    # ${r.description}` : ''}`)
  }
}

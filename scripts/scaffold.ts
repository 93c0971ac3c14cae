/**
 * `npm run scaffold -- <starter> <folder>`: copies a starter with the core and the plugins it
 * uses into a new folder that runs with the same two commands (npm install && npm start).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const [starter = 'saas', target] = process.argv.slice(2)
if (!target) {
  console.error('usage: npm run scaffold -- <minimal|saas|helpdesk> <folder>')
  process.exit(2)
}
const root = resolve(import.meta.dir, '..')
const dest = resolve(target)
if (!existsSync(join(root, 'starters', starter))) {
  console.error(`unknown starter "${starter}"`)
  process.exit(2)
}
if (existsSync(dest)) {
  console.error(`${dest} already exists`)
  process.exit(2)
}
const skip = (src: string) => !/(^|\/)(node_modules|\.data[^/]*|\.tmp|\.git)(\/|$)/.test(src.slice(root.length))
for (const part of [
  'core',
  'plugins',
  'docs',
  'bunfig.toml',
  'tsconfig.json',
  'package-lock.json',
  '.env.example',
  'docker-compose.yml',
  'Dockerfile',
  '.gitignore',
]) {
  if (existsSync(join(root, part))) cpSync(join(root, part), join(dest, part), { recursive: true, filter: skip })
}
cpSync(join(root, 'starters', starter), join(dest, 'starters', starter), { recursive: true })
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
pkg.name = target.split('/').pop()
pkg.scripts = {
  start: `bun starters/${starter}/server.ts`,
  dev: `bun --watch starters/${starter}/server.ts`,
  test: 'bun test --timeout 60000',
  migrate: `bun core/db/cli-migrate.ts starters/${starter}/app.ts`,
}
writeFileSync(join(dest, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
console.log(`Created ${dest} from starters/${starter}.\n  cd ${target} && npm install && npm start`)

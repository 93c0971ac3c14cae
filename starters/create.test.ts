/**
 * `omnistack create` (scripts/create.ts) into temporary folders, without installing anything:
 * - saas, helpdesk and `--plugins billing`: what is copied (exactly the chosen plugins and the ones
 *   they require, never an optional dependency that was not chosen; starter, tests, docs), the new
 *   package.json's dependencies (at the exact versions of this package-lock.json), and
 *   .env.example; the billing app type-checks without the plugins billing names as optional, and
 *   boots with this repository's packages linked in, serving only its plugins' routes;
 * - a folder that is not empty, an unknown starter or plugin: refused, nothing written.
 * Each starter end to end (npm install from the registry, start, its own npm test) is in
 * create-e2e-<starter>.test.ts.
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envNames, starterPlugins } from '../scripts/env-docs.ts'
import {
  BUN,
  type CreatedApp,
  created as createdIn,
  omnistack as omnistackIn,
  ROOT,
  startCommand,
  testFiles,
  workFolder,
} from './create-support.ts'

const work = workFolder()
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const rootLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
const omnistack = (...args: string[]) => omnistackIn(work, ...args)
const created = (folder: string, ...args: string[]) => createdIn(work, folder, ...args)

afterAll(() => rmSync(work, { recursive: true, force: true }))

const listed = (text: string) => [...text.matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!).sort()

/**
 * Every package of the copy is one of this package.json's, pinned to the exact version
 * package-lock.json resolved (docs/getting-started.md#pinned-versions), never the caret range.
 */
function expectPinned(pkg: CreatedApp['pkg']) {
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    expect(rootPkg.dependencies[name] ?? rootPkg.devDependencies[name], name).toBeDefined()
    expect(version, name).toBe(rootLock.packages[`node_modules/${name}`].version)
    expect(version, name).toMatch(/^\d+\.\d+\.\d+$/)
  }
}

describe('omnistack create: what is copied', () => {
  it('saas: its plugins only, its starter, its tests, dependencies at the versions of this lockfile, its .env.example', async () => {
    const app = created('saas-app', '--starter', 'saas')
    const own = (await starterPlugins('saas')).map((p) => p.name).sort()
    expect(app.list('plugins')).toEqual(own)
    expect(app.list('plugins')).not.toContain('tickets')
    expect(app.list('starters')).toEqual(['launch.ts', 'saas'])
    expect(app.read('starters/saas/app.ts')).toBe(readFileSync(join(ROOT, 'starters/saas/app.ts'), 'utf8'))
    // conformance walks every route of these plugins; the fuzz test also boots tickets, which was not copied.
    expect(app.list('starters/saas')).toContain('conformance.test.ts')
    expect(app.list('starters/saas')).not.toContain('fuzz.test.ts')
    expect(app.list('docs/plugins')).toEqual(own.map((n) => `${n}.md`))
    expect(existsSync(join(app.dir, 'package-lock.json'))).toBe(false)
    expect(app.pkg.name).toBe('saas-app')
    expectPinned(app.pkg)
    expect(app.pkg.dependencies.elysia).toBe(rootLock.packages['node_modules/elysia'].version)
    expect(app.pkg.devDependencies.typescript).toBe(rootLock.packages['node_modules/typescript'].version)
    expect(Object.keys(app.pkg.dependencies)).toEqual(
      expect.arrayContaining(['elysia', 'postgres', 'stripe', '@aws-sdk/client-s3', 'nodemailer', 'svix']),
    )
    expect(app.pkg.dependencies).not.toHaveProperty('@clack/prompts')
    expect(app.pkg.dependencies).not.toHaveProperty('csv-stringify') // tickets only
    expect(app.pkg.scripts.start).toBe('bun --max-http-header-size=1048576 starters/saas/server.ts')
    expect(app.pkg.scripts.doctor).toBe('bun scripts/doctor.ts --starter saas')
    expect(listed(app.read('.env.example'))).toEqual([...new Set(envNames(await starterPlugins('saas')))].sort())
    expect(app.read('.env.example')).not.toContain('TICKETS_')
    for (const file of [
      'scripts/test.sh',
      'scripts/doctor.ts',
      '.ci/run',
      'docker-compose.yml',
      'Dockerfile',
      'README.md',
      'tsconfig.json',
    ])
      expect(existsSync(join(app.dir, file))).toBe(true)
    expect(app.read('docker-compose.yml')).toContain('minio') // files is installed: S3 on MinIO
    // .ci/run keeps only the checks whose script the app has, and still parses.
    const ci = app.read('.ci/run')
    const checks = [...ci.matchAll(/^check "npm run ([\w:-]+)"/gm)].map((m) => m[1])
    expect(checks).toEqual(['typecheck'])
    expect(ci).not.toContain('TEST_CREATE_E2E') // the app has no create tests to switch off
    for (const script of checks) expect(app.pkg.scripts).toHaveProperty(script!)
    expect(spawnSync('bash', ['-n', join(app.dir, '.ci/run')]).status).toBe(0)
  })

  it('helpdesk: users, files, tickets, websocket and email, with the tickets tests', async () => {
    const app = created('desk', '--starter', 'helpdesk')
    // files names organizations as an optional dependency: by name, so it is not copied.
    expect(app.list('plugins')).toEqual(['email', 'files', 'tickets', 'users', 'websocket'])
    expect(app.list('docs/plugins')).toEqual(['email.md', 'files.md', 'tickets.md', 'users.md', 'websocket.md'])
    expect(app.read('README.md')).toContain('These plugins can also use `organizations`')
    expect(app.list('starters')).toEqual(['helpdesk', 'launch.ts'])
    expect(testFiles(app.dir, 'plugins/tickets').length).toBeGreaterThan(3)
    expect(app.list('starters/helpdesk')).toContain('helpdesk.test.ts')
    expect(Object.keys(app.pkg.dependencies)).toEqual(
      expect.arrayContaining(['csv-stringify', '@modelcontextprotocol/sdk', '@aws-sdk/client-s3', 'nodemailer']),
    )
    expect(app.pkg.dependencies).not.toHaveProperty('stripe')
    expect(app.pkg.dependencies).not.toHaveProperty('svix')
    expectPinned(app.pkg)
    expect(listed(app.read('.env.example'))).toEqual([...new Set(envNames(await starterPlugins('helpdesk')))].sort())
    expect(app.read('Dockerfile')).toContain('starters/helpdesk/server.ts')
  })

  it('--plugins billing: billing and what it requires (users), nothing else; it type-checks and boots', async () => {
    const app = created('billing-only', '--plugins', 'billing')
    // feature-flags and organizations are billing's optional dependencies, named, not imported:
    // the copy holds exactly what was chosen and required.
    expect(app.list('plugins')).toEqual(['billing', 'users'])
    const appTs = app.read('starters/saas/app.ts')
    expect(appTs).toContain('export const plugins: AnyPlugin[] = [users, billing]')
    expect(appTs).not.toMatch(/plugins\/(?!users\/|billing\/)[\w-]+\//)
    expect(app.read('README.md')).toContain('These plugins can also use `feature-flags`, `organizations`')
    // The SaaS starter's tests are about its full list: left out for a chosen one.
    expect(app.list('starters/saas')).toEqual(['app.ts', 'server.ts'])
    expect(app.list('docs/plugins')).toEqual(['billing.md', 'users.md'])
    expect(app.pkg.dependencies).toHaveProperty('stripe')
    for (const other of ['@aws-sdk/client-s3', 'svix', 'csv-stringify', '@modelcontextprotocol/sdk', 'nodemailer'])
      expect(app.pkg.dependencies).not.toHaveProperty(other)
    // No copied file reaches a plugin folder that was not copied.
    const sources = ['core', 'plugins', 'starters', 'scripts'].flatMap((d) =>
      readdirSync(join(app.dir, d), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(d, f)),
    )
    const reaching = sources.filter((f) =>
      /from '(\.\.\/)+(plugins\/)?(organizations|feature-flags|email|websocket|files|projects|tickets)\//.test(
        readFileSync(join(app.dir, f), 'utf8'),
      ),
    )
    expect(reaching).toEqual([])
    const env = listed(app.read('.env.example'))
    expect(env).toContain('STRIPE_SECRET_KEY')
    expect(env).not.toContain('S3_BUCKET')
    expect(env).not.toContain('FEATURE_FLAGS_REFRESH_MS')
    const compose = app.read('docker-compose.yml')
    expect(compose).not.toContain('minio')
    expect(compose).not.toContain('S3_')
    expect(compose).toMatch(/^ {2}postgres:$/m)

    // The copy type-checks on its own: billing's ports stand in for the plugins it names (this
    // repository's packages linked in, no install).
    symlinkSync(join(ROOT, 'node_modules'), join(app.dir, 'node_modules'))
    const types = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], {
      cwd: app.dir,
      encoding: 'utf8',
      timeout: 300_000,
    })
    expect(types.status, `${types.stdout}${types.stderr}`.slice(-4000)).toBe(0)

    // The written app.ts boots: its OpenAPI document has billing's and users' routes, no other's.
    const server = await startCommand(app.dir, [BUN, 'starters/saas/server.ts'], join(app.dir, '.data'))
    try {
      const doc = await (await fetch(`http://127.0.0.1:${server.port}/openapi/v1.json`)).json()
      const paths = Object.keys(doc.paths)
      expect(paths.some((p) => p.includes('/billing/'))).toBe(true)
      expect(paths.some((p) => p.includes('/users/me'))).toBe(true)
      expect(paths.filter((p) => /\/(projects|files|feature-flags|contact|ai|usage)(\/|$)/.test(p))).toEqual([])
    } finally {
      await server.stop()
    }
  }, 480_000)

  it('--plugins "" gives the core alone under a starter', () => {
    const app = created('bare', '--starter', 'helpdesk', '--plugins', '')
    expect(app.list('plugins')).toEqual([])
    expect(app.read('starters/helpdesk/app.ts')).toContain('export const plugins: AnyPlugin[] = []')
    expect(app.pkg.dependencies).not.toHaveProperty('csv-stringify')
  })
})

describe('omnistack create: refusals', () => {
  it('refuses a folder that is not empty and leaves it as it was', () => {
    mkdirSync(join(work, 'taken'))
    writeFileSync(join(work, 'taken', 'notes.txt'), 'mine')
    const res = omnistack('create', 'taken', '--starter', 'minimal', '--yes')
    expect(res.code).not.toBe(0)
    expect(res.out).toContain('not empty')
    expect(readdirSync(join(work, 'taken'))).toEqual(['notes.txt'])
  })

  it('refuses an unknown starter or plugin, naming the real ones', () => {
    const starter = omnistack('create', 'x1', '--starter', 'shop', '--yes')
    expect(starter.code).toBe(2)
    expect(starter.out).toContain('Starters: helpdesk, minimal, saas')
    const plugin = omnistack('create', 'x2', '--plugins', 'billing,payroll', '--yes')
    expect(plugin.code).toBe(2)
    expect(plugin.out).toContain('Unknown plugin payroll')
    expect(existsSync(join(work, 'x1'))).toBe(false)
    expect(existsSync(join(work, 'x2'))).toBe(false)
  })

  it('without a terminal and without a folder, says what to give', () => {
    const res = omnistack('create', '--yes')
    expect(res.code).toBe(2)
    expect(res.out).toContain('usage: omnistack create <folder>')
    expect(omnistack('nope').code).toBe(2)
  })
})

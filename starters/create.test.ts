/**
 * `omnistack create` (scripts/create.ts) into temporary folders:
 * - saas, helpdesk and `--plugins billing`: what is copied (plugins, starter, tests, docs), the new
 *   package.json's dependencies, and .env.example, without installing anything; the billing app
 *   boots with this repository's packages linked in and serves only its plugins' routes;
 * - a folder that is not empty, an unknown starter or plugin: refused, nothing written;
 * - end to end, the minimal starter: `npm install` from the registry (npm's usual cache), then
 *   `npm start` (Bun) and `npm run start:deno` answer health 200, it type-checks, and its own
 *   `npm test` passes. This one test takes minutes: its timeout is explicit.
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { envNames, starterPlugins } from '../scripts/env-docs.ts'

const ROOT = resolve(import.meta.dir, '..')
const BUN = join(ROOT, 'node_modules/.bin/bun')
const work = mkdtempSync(join(tmpdir(), 'omnistack-create-'))
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs `omnistack <args>` in the work folder, without a terminal (no prompts). */
function omnistack(...args: string[]) {
  const res = spawnSync(BUN, [join(ROOT, 'scripts/omnistack.ts'), ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { code: res.status, out: `${res.stdout}${res.stderr}` }
}

function created(folder: string, ...args: string[]) {
  const res = omnistack('create', folder, '--yes', ...args)
  expect(res.out).toContain(`Created ${folder}`)
  expect(res.code).toBe(0)
  const dir = join(work, folder)
  return {
    dir,
    read: (path: string) => readFileSync(join(dir, path), 'utf8'),
    list: (path: string) => (existsSync(join(dir, path)) ? readdirSync(join(dir, path)).sort() : []),
    pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string
      scripts: Record<string, string>
      dependencies: Record<string, string>
      devDependencies: Record<string, string>
    },
  }
}

const listed = (text: string) => [...text.matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!).sort()
const testFiles = (dir: string, sub: string): string[] =>
  existsSync(join(dir, sub))
    ? readdirSync(join(dir, sub), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'))
    : []

describe('omnistack create: what is copied', () => {
  it('saas: its plugins only, its starter, its tests, dependencies from this package.json, its .env.example', async () => {
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
    for (const [name, range] of Object.entries({ ...app.pkg.dependencies, ...app.pkg.devDependencies }))
      expect(range).toBe(rootPkg.dependencies[name] ?? rootPkg.devDependencies[name])
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
    for (const script of checks) expect(app.pkg.scripts).toHaveProperty(script!)
    expect(spawnSync('bash', ['-n', join(app.dir, '.ci/run')]).status).toBe(0)
  })

  it('helpdesk: users, files, tickets, websocket and email, with the tickets tests', async () => {
    const app = created('desk', '--starter', 'helpdesk')
    // organizations is files' optional dependency: imported by files' index.ts, so copied, not installed.
    expect(app.list('plugins')).toEqual(['email', 'files', 'organizations', 'tickets', 'users', 'websocket'])
    expect(app.list('starters')).toEqual(['helpdesk', 'launch.ts'])
    expect(testFiles(app.dir, 'plugins/tickets').length).toBeGreaterThan(3)
    expect(app.list('starters/helpdesk')).toContain('helpdesk.test.ts')
    expect(Object.keys(app.pkg.dependencies)).toEqual(
      expect.arrayContaining(['csv-stringify', '@modelcontextprotocol/sdk', '@aws-sdk/client-s3', 'nodemailer']),
    )
    expect(app.pkg.dependencies).not.toHaveProperty('stripe')
    expect(app.pkg.dependencies).not.toHaveProperty('svix')
    expect(listed(app.read('.env.example'))).toEqual([...new Set(envNames(await starterPlugins('helpdesk')))].sort())
    expect(app.read('Dockerfile')).toContain('starters/helpdesk/server.ts')
  })

  it('--plugins billing: billing and what it requires (users), installed; nothing else; it boots', async () => {
    const app = created('billing-only', '--plugins', 'billing')
    // feature-flags and organizations are billing's optional dependencies: their index.ts is
    // imported, so they are copied (with what they import: email, websocket), not installed.
    expect(app.list('plugins')).toEqual(['billing', 'email', 'feature-flags', 'organizations', 'users', 'websocket'])
    const appTs = app.read('starters/saas/app.ts')
    expect(appTs).toContain('export const plugins: AnyPlugin[] = [users, billing]')
    expect(appTs).not.toMatch(/plugins\/(admin|projects|files|email|contact|ai|usage|websocket|identity-webhooks)\//)
    expect(app.read('README.md')).toContain(
      '`plugins/email`, `plugins/feature-flags`, `plugins/organizations`, `plugins/websocket` are copied but not installed',
    )
    // The SaaS starter's tests are about its full list: left out for a chosen one.
    expect(app.list('starters/saas')).toEqual(['app.ts', 'server.ts'])
    expect(app.list('docs/plugins')).toEqual([
      'billing.md',
      'email.md',
      'feature-flags.md',
      'organizations.md',
      'users.md',
      'websocket.md',
    ])
    expect(app.pkg.dependencies).toHaveProperty('stripe')
    // nodemailer comes with the copied email plugin (its code must type-check); nothing of the others.
    for (const other of ['@aws-sdk/client-s3', 'svix', 'csv-stringify', '@modelcontextprotocol/sdk'])
      expect(app.pkg.dependencies).not.toHaveProperty(other)
    const env = listed(app.read('.env.example'))
    expect(env).toContain('STRIPE_SECRET_KEY')
    expect(env).not.toContain('S3_BUCKET')
    expect(env).not.toContain('FEATURE_FLAGS_REFRESH_MS')
    const compose = app.read('docker-compose.yml')
    expect(compose).not.toContain('minio')
    expect(compose).not.toContain('S3_')
    expect(compose).toMatch(/^ {2}postgres:$/m)
    // Every copied test imports only what was copied.
    for (const file of testFiles(app.dir, 'plugins'))
      expect(readFileSync(join(app.dir, 'plugins', file), 'utf8')).not.toMatch(/plugins\/(admin|files|email|tickets)\//)

    // The written app.ts boots (this repository's packages linked in, no install): its OpenAPI
    // document has the billing and users routes and no other plugin's.
    symlinkSync(join(ROOT, 'node_modules'), join(app.dir, 'node_modules'))
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
  }, 180_000)

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

/** Starts a command in the app folder (its own process group) and waits for the listening line. */
async function startCommand(dir: string, command: string[], dataDir: string) {
  const proc: ChildProcess = spawn(command[0]!, command.slice(1), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
  })
  let out = ''
  const exited = new Promise((r) => proc.once('exit', r))
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command.join(' ')} did not listen in 120 s:\n${out}`)), 120_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /listening","url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolvePort(Number(m[1]))
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command.join(' ')} exited with ${code}:\n${out}`))
    })
  })
  const stop = async () => {
    process.kill(-proc.pid!, 'SIGTERM')
    await exited
  }
  return { port, stop }
}

describe('omnistack create: end to end', () => {
  it('minimal: npm install from the registry, npm start and start:deno answer health 200, npm test passes', async () => {
    const app = created('minimal-app', '--starter', 'minimal')
    expect(app.list('plugins')).toEqual([])
    // No plugins/ folder, so the image does not copy one.
    expect(app.read('Dockerfile')).not.toContain('COPY plugins')
    expect(app.read('Dockerfile')).toContain('starters/minimal/server.ts')
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app.dir,
      encoding: 'utf8',
      timeout: 600_000,
    })
    expect(install.status, `${install.stdout}${install.stderr}`).toBe(0)
    expect(existsSync(join(app.dir, 'package-lock.json'))).toBe(true)

    for (const script of ['start', 'start:deno']) {
      const dataDir = join(app.dir, `.data-${script.replace(':', '-')}`)
      const server = await startCommand(app.dir, ['npm', 'run', '--silent', script], dataDir)
      try {
        const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/public/health`)
        expect(res.status).toBe(200)
        expect((await res.json()).status).toBe('healthy')
      } finally {
        await server.stop()
      }
    }

    // The copy type-checks on its own (its tsconfig, its packages).
    const types = spawnSync('npm', ['run', '--silent', 'typecheck'], {
      cwd: app.dir,
      encoding: 'utf8',
      timeout: 300_000,
    })
    expect(types.status, `${types.stdout}${types.stderr}`).toBe(0)

    const test = spawnSync('npm', ['test'], { cwd: app.dir, encoding: 'utf8', timeout: 1_200_000 })
    const out = `${test.stdout}${test.stderr}`
    expect(test.status, out.slice(-4000)).toBe(0)
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(out)
    expect(Number(summary?.[1])).toBeGreaterThan(0)
    expect(Number(summary?.[2])).toBe(0)
    // The core's tests ran, one file per process, and no plugin's.
    expect(out).toContain('ok   core/health/health.http.test.ts')
    expect(out).not.toContain('plugins/')
  }, 1_800_000)
})

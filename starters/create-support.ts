/**
 * Helpers of the `omnistack create` tests (starters/create*.test.ts): run the command in a
 * temporary folder without a terminal, read what it wrote, start a copy as a process.
 */
import { expect } from 'bun:test'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dir, '..')
export const BUN = join(ROOT, 'node_modules/.bin/bun')

export interface CreatedApp {
  dir: string
  read(path: string): string
  /** The sorted entries of a folder of the copy ([] when it does not exist). */
  list(path: string): string[]
  pkg: {
    name: string
    scripts: Record<string, string>
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
}

/** A temporary folder the tests create apps in. */
export const workFolder = () => mkdtempSync(join(tmpdir(), 'omnistack-create-'))

/** Runs `omnistack <args>` in `cwd`, without a terminal (no prompts). */
export function omnistack(cwd: string, ...args: string[]) {
  const res = spawnSync(BUN, [join(ROOT, 'scripts/omnistack.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return { code: res.status, out: `${res.stdout}${res.stderr}` }
}

/** `omnistack create <folder> --yes <args>` in `work`, which must succeed. */
export function created(work: string, folder: string, ...args: string[]): CreatedApp {
  const res = omnistack(work, 'create', folder, '--yes', ...args)
  expect(res.out).toContain(`Created ${folder}`)
  expect(res.code).toBe(0)
  const dir = join(work, folder)
  return {
    dir,
    read: (path) => readFileSync(join(dir, path), 'utf8'),
    list: (path) => (existsSync(join(dir, path)) ? readdirSync(join(dir, path)).sort() : []),
    pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')),
  }
}

/** The `*.test.ts` files under `sub` of `dir`, relative to `sub`. */
export const testFiles = (dir: string, sub: string): string[] =>
  existsSync(join(dir, sub))
    ? readdirSync(join(dir, sub), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'))
    : []

/** Starts a command in the app folder (its own process group) and waits for the listening line. */
export async function startCommand(dir: string, command: string[], dataDir: string) {
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

/**
 * The end-to-end create tests run unless TEST_CREATE_E2E=0: .ci/run runs them in its embedded pass
 * only, since each installs a copy and runs the copy's own suite (docs/testing.md#ci).
 */
export const E2E = process.env.TEST_CREATE_E2E !== '0'

/** Runs a command in the copy and returns its output, expecting exit status 0. */
function run(dir: string, args: string[], timeout: number): string {
  const res = spawnSync(args[0]!, args.slice(1), { cwd: dir, encoding: 'utf8', timeout })
  const out = `${res.stdout}${res.stderr}`
  expect(res.status, `${args.join(' ')}:\n${out.slice(-4000)}`).toBe(0)
  return out
}

/**
 * The issue's end-to-end path for a created app: `npm install` there from the registry (npm's
 * usual cache), `npm start` (Bun) and `npm run start:deno` answer health 200, the copy
 * type-checks on its own, and its own `npm test` passes having run every test file it holds, one
 * process each. Prints and returns how long each step took; returns the test output.
 */
export async function endToEnd(app: CreatedApp): Promise<string> {
  const timings: Record<string, number> = {}
  const timed = async <T>(step: string, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now()
    try {
      return await fn()
    } finally {
      timings[step] = Math.round((performance.now() - t0) / 1000)
    }
  }
  await timed('install', () => run(app.dir, ['npm', 'install', '--no-audit', '--no-fund', '--prefer-offline'], 900_000))
  expect(existsSync(join(app.dir, 'package-lock.json'))).toBe(true)

  for (const script of ['start', 'start:deno'])
    await timed(script, async () => {
      const dataDir = join(app.dir, `.data-${script.replace(':', '-')}`)
      const server = await startCommand(app.dir, ['npm', 'run', '--silent', script], dataDir)
      try {
        const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/public/health`)
        expect(res.status).toBe(200)
        expect((await res.json()).status).toBe('healthy')
      } finally {
        await server.stop()
      }
    })

  await timed('typecheck', () => run(app.dir, ['npm', 'run', '--silent', 'typecheck'], 600_000))
  const out = await timed('npm test', () => run(app.dir, ['npm', 'test'], 3_600_000))
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(out)
  expect(Number(summary?.[1])).toBeGreaterThan(0)
  expect(Number(summary?.[2])).toBe(0)
  // Every test file of the copy ran (scripts/test.sh prints `ok   <file> (N tests)` for each).
  const ran = [...out.matchAll(/^ok {3}(\S+) \(\d+ tests\)$/gm)].map((m) => m[1]!).sort()
  const held = ['core', 'plugins', 'starters'].flatMap((d) => testFiles(app.dir, d).map((f) => `${d}/${f}`)).sort()
  expect(ran).toEqual(held)
  console.log(
    `create e2e ${app.pkg.name}: ${Object.entries(timings)
      .map(([k, s]) => `${k} ${s}s`)
      .join(', ')}`,
  )
  return out
}

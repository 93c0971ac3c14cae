/**
 * A private PostgreSQL server for outage tests: stopping it never touches the machine's shared
 * one. Needs the PostgreSQL server binaries (Debian's postgresql package, as CI has); when run
 * as root the server runs as the `postgres` user, since initdb refuses root.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PrivatePostgres {
  readonly url: string
  readonly port: number
  /** pg_ctl stop -m immediate: connections drop at once, as in a crash. */
  stop(): void
  start(): void
  /** Stops the server and removes its data directory. */
  destroy(): void
}

/** The bin directory of the newest installed PostgreSQL, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  return versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')))
}

export function startPostgres(port: number): PrivatePostgres {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql')
  const dir = mkdtempSync(join(tmpdir(), 'omnistack-pg-'))
  chmodSync(dir, 0o777)
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const run = (args: string[]) => {
    const command = asRoot ? ['runuser', '-u', 'postgres', '--', ...args] : args
    const r = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: 60_000 })
    if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr || r.stdout}`)
  }
  run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  const start = () => run([join(bin, 'pg_ctl'), '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'])
  const stop = () => run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'])
  start()
  let running = true
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      stop()
      running = false
    },
    start() {
      start()
      running = true
    },
    destroy() {
      if (running) stop()
      running = false
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

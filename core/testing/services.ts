/** Helpers for tests that need their own services: a free port, a private redis-server, log capture. */
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { createLogger, type Logger } from '../observability/index.ts'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it is true, or fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await sleep(25)
  }
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })

/** A private redis-server, so killing it never touches the machine's shared one. */
export async function startRedis(port: number) {
  const proc = Bun.spawn(
    ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdout: 'ignore',
      stderr: 'ignore',
    },
  )
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  probe.on('error', () => {})
  await until(async () => {
    try {
      if (probe.status !== 'ready') await probe.connect()
      return (await probe.ping()) === 'PONG'
    } catch {
      probe.disconnect()
      return false
    }
  })
  probe.disconnect()
  return proc
}

export type LogLine = { level: string; message: string; [field: string]: unknown }

/** A logger whose lines are kept, parsed, for assertions. */
export function captureLogs(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): {
  logger: Logger
  lines: LogLine[]
} {
  const lines: LogLine[] = []
  return { lines, logger: createLogger({ level, write: (l) => lines.push(JSON.parse(l)) }) }
}

/** SIGTERM: a server whose flush interval never comes writes its buffered usage on the way out. */
import { afterAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CORE_MIGRATIONS } from '../../../core/index.ts'
import { openDatabase, type Database } from '../../../core/db/index.ts'
import { spawnServer, type Child } from '../../../core/runtime/fixtures/spawn.ts'
import { createTestDatabase, type TestDatabase } from '../../../core/testing/database.ts'
import { signTestToken, TEST_JWT_SECRET } from '../../../core/testing/index.ts'
import usage from '../index.ts'

const BUN = new URL('../../../node_modules/.bin/bun', import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-usage-shutdown-'))
let child: Child | undefined
let server: TestDatabase | undefined

afterAll(async () => {
  if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL')
  await server?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('usage on SIGTERM', () => {
  it('flushes every buffered event before the process exits', async () => {
    // On a real PostgreSQL the child gets its own fresh database; embedded, a data dir we reopen.
    if (process.env.TEST_DATABASE_URL) {
      server = await createTestDatabase({
        migrations: [CORE_MIGRATIONS, { namespace: 'usage', dir: usage.migrations! }],
      })
    }
    child = await spawnServer([BUN, new URL('./fixtures/serve-usage.ts', import.meta.url).pathname], {
      PORT: '0',
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      ...(server?.url ? { DATABASE_URL: server.url } : {}),
      USAGE_FLUSH_INTERVAL_MS: '600000',
      RATE_LIMIT_DEFAULT: '100000/minute',
    })
    const token = await signTestToken('sigterm-user')
    const base = `http://127.0.0.1:${child.port}`
    const results = await Promise.all(
      Array.from({ length: 120 }, () =>
        fetch(`${base}/api/v1/app/usage/metrics`, { headers: { authorization: `Bearer ${token}` } }),
      ),
    )
    expect(results.every((r) => r.status === 200)).toBe(true)
    child.proc.kill('SIGTERM')
    expect(await child.exited).toBe(0)

    const db: Database = server ?? (await openDatabase({ dataDir }))
    try {
      const [row] = await db.sql<{ n: number }[]>`
        select coalesce(sum(value), 0)::float8 as n from usage_daily where user_id = 'sigterm-user' and metric = 'api_requests'`
      expect(row!.n).toBe(120)
    } finally {
      if (!server) await db.close()
    }
  }, 90_000)
})

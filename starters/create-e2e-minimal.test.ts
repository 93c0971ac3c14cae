/**
 * `omnistack create` of the minimal starter, end to end (create-support.ts#endToEnd): installed
 * from the registry, started on Bun and Deno, type-checked, its own suite green. Minutes long:
 * TEST_CREATE_E2E=0 skips it (docs/testing.md#ci).
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { created, E2E, endToEnd, workFolder } from './create-support.ts'

const work = workFolder()
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.skipIf(!E2E)('omnistack create: minimal, end to end', () => {
  it('installs, answers health 200 on Bun and Deno, type-checks, and its npm test passes', async () => {
    const app = created(work, 'minimal-app', '--starter', 'minimal')
    expect(app.list('plugins')).toEqual([])
    // No plugins/ folder, so the image does not copy one.
    expect(app.read('Dockerfile')).not.toContain('COPY plugins')
    expect(app.read('Dockerfile')).toContain('starters/minimal/server.ts')
    const out = await endToEnd(app)
    // The core's tests ran, one file per process, and no plugin's.
    expect(out).toContain('ok   core/health/health.http.test.ts')
    expect(out).not.toContain('plugins/')
  }, 3_600_000)
})

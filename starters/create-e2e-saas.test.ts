/**
 * `omnistack create` of the saas starter, end to end (create-support.ts#endToEnd): installed
 * from the registry, started on Bun and Deno, type-checked, its own suite (the core's, its
 * plugins' and the starter's tests) green. The longest test of the suite: TEST_CREATE_E2E=0
 * skips it (docs/testing.md#ci).
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { starterPlugins } from '../scripts/env-docs.ts'
import { created, E2E, endToEnd, workFolder } from './create-support.ts'

const work = workFolder()
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.skipIf(!E2E)('omnistack create: saas, end to end', () => {
  it('installs, answers health 200 on Bun and Deno, type-checks, and its npm test passes', async () => {
    const app = created(work, 'saas-app', '--starter', 'saas')
    expect(app.list('plugins')).toEqual((await starterPlugins('saas')).map((p) => p.name).sort())
    const out = await endToEnd(app)
    expect(out).toContain('ok   starters/saas/conformance.test.ts')
    expect(out).toContain('ok   plugins/billing/tests/org-billing.http.test.ts')
    expect(out).not.toContain('plugins/tickets/')
  }, 5_400_000)
})

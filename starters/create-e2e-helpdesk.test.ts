/**
 * `omnistack create` of the helpdesk starter, end to end (create-support.ts#endToEnd): installed
 * from the registry, started on Bun and Deno, type-checked without the organizations plugin that
 * files names as optional, its own suite (the core's, its plugins' and the starter's tests) green.
 * Minutes long: TEST_CREATE_E2E=0 skips it (docs/testing.md#ci).
 */
import { afterAll, describe, expect, it } from 'bun:test'
import { rmSync } from 'node:fs'
import { created, E2E, endToEnd, workFolder } from './create-support.ts'

const work = workFolder()
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe.skipIf(!E2E)('omnistack create: helpdesk, end to end', () => {
  it('installs, answers health 200 on Bun and Deno, type-checks, and its npm test passes', async () => {
    const app = created(work, 'desk-app', '--starter', 'helpdesk')
    expect(app.list('plugins')).toEqual(['email', 'files', 'tickets', 'users', 'websocket'])
    const out = await endToEnd(app)
    expect(out).toContain('ok   starters/helpdesk/helpdesk.test.ts')
    expect(out).toContain('ok   plugins/tickets/tests/notifications.http.test.ts')
    expect(out).not.toContain('plugins/organizations/')
  }, 3_600_000)
})

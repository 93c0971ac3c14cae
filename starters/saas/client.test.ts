/**
 * The generated client compiles against v2 without casts: generates types from the SaaS starter's
 * /openapi/v2.json (scripts/client.ts, openapi-typescript) and type-checks, with tsc --strict, a
 * small openapi-fetch program that calls users/me, lists and creates projects, and reads `data` and
 * `meta.pagination`. Lines marked @ts-expect-error prove the types are not `any`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type TestApp, testApp } from '../../core/testing/index.ts'
import { generateClientTypes } from '../../scripts/client.ts'
import { plugins } from './app.ts'

const ROOT = resolve(import.meta.dir, '../..')
let t: TestApp
let dir: string

beforeAll(async () => {
  t = await testApp({ plugins })
  dir = mkdtempSync(join(tmpdir(), 'omnistack-client-'))
}, 300_000)
afterAll(async () => {
  await t?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const PROGRAM = `import createClient from 'openapi-fetch'
import type { paths } from './api'

const client = createClient<paths>({ baseUrl: 'http://localhost:3000', headers: { Authorization: 'Bearer osk_example' } })

export async function main(): Promise<string[]> {
  const me = await client.GET('/api/v2/app/users/me')
  const email: string | null = me.data ? me.data.data.email : null
  const requestId: string | undefined = me.data?.meta.request_id

  const page = await client.GET('/api/v2/app/projects', { params: { query: { limit: 10 } } })
  if (!page.data) return [page.error.error.code]
  const names: string[] = page.data.data.map((p) => p.name)
  const total: number = page.data.meta.pagination.total
  const next: string | undefined = page.data.meta.pagination.next_after
  const exact: false | undefined = page.data.meta.pagination.total_exact
  // @ts-expect-error v2 lists have no items: the items are data
  page.data.items
  // @ts-expect-error total is a number, not a string
  const wrong: string = page.data.meta.pagination.total

  const created = await client.POST('/api/v2/app/projects', { body: { name: 'Website redesign', description: null } })
  if (created.error) return [created.error.error.code, created.error.error.message]
  const id: string = created.data.data.id
  // @ts-expect-error name is required
  await client.POST('/api/v2/app/projects', { body: { description: 'no name' } })
  return [String(email), String(requestId), ...names, String(total), String(next), String(exact), id, wrong]
}
`

describe('generated client', () => {
  it('type-checks a strict openapi-fetch program against v2 without casts', async () => {
    const doc = (await t.get('/openapi/v2.json')).body
    writeFileSync(join(dir, 'api.d.ts'), await generateClientTypes(doc))
    writeFileSync(join(dir, 'main.ts'), PROGRAM)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM'],
          types: [],
          skipLibCheck: true,
          baseUrl: '.',
          paths: { 'openapi-fetch': [join(ROOT, 'node_modules/openapi-fetch')] },
        },
        files: ['main.ts'],
      }),
    )
    const res = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' })
    expect(`${res.stdout}${res.stderr}`).toBe('')
    expect(res.status).toBe(0)
  }, 300_000)
})

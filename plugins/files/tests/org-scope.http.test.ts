/**
 * Organization-scoped files (docs/plugins/files.md#organizations): cross-tenant isolation of
 * metadata, lists, download URLs and uploads; a non-member naming an organization gets 404;
 * members read, owners, admins and the uploader change, the billing role reads only; personal
 * files stay private; a deleted organization's files are purged with their objects; without the
 * organizations plugin nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from '../../organizations/tests/support.ts'
import { createFilesPlugin } from '../index.ts'
import { randomBytesOf, sha256, tempDataDir, viaApp } from './support.ts'

const base = '/api/v1/app/files'
const inOrg = (org: string) => ({ headers: { 'X-Organization-ID': org } })

describe('files in organizations', () => {
  let t: OrgTestApp
  const dataDir = tempDataDir()
  let orgA: string
  let orgB: string
  let fa: any // uploaded by member `amem` in A
  let fb: any // uploaded by `bown` in B
  const bytesA = randomBytesOf(2048)

  /** upload-url, PUT, confirm as `user` (in `org` when given); returns the confirmed file. */
  async function upload(user: string, org: string | undefined, name: string, data = randomBytesOf(64)) {
    const init = org ? inOrg(org) : {}
    const up = await t
      .as(user)
      .post(`${base}/upload-url`, { filename: name, content_type: 'text/plain', size: data.length }, init)
    expect(up.status).toBe(200)
    const put = await viaApp(t.app, up.body.upload_url, {
      method: 'PUT',
      body: data,
      headers: { 'content-type': 'text/plain' },
    })
    expect(put.status).toBe(200)
    const done = await t.as(user).post(`${base}/confirm`, { file_id: up.body.file_id }, init)
    expect(done.status).toBe(200)
    return done.body
  }

  beforeAll(async () => {
    t = await orgsApp({ extra: [createFilesPlugin()], env: { DATA_DIR: dataDir } })
    orgA = await createOrg(t, 'aown', 'Acme')
    for (const [user, role] of [
      ['aadm', 'admin'],
      ['amem', 'member'],
      ['amem2', 'member'],
      ['abil', 'billing'],
    ] as const)
      await addMember(t, orgA, 'aown', user, role)
    orgB = await createOrg(t, 'bown', 'Bolt')
    fa = await upload('amem', orgA, 'plan-a.txt', bytesA)
    fb = await upload('bown', orgB, 'plan-b.txt')
  }, 60_000)
  afterAll(() => t?.close())

  it('uploads into the active organization, naming it in org_id; only the uploader or an admin confirms', async () => {
    expect(fa).toMatchObject({ filename: 'plan-a.txt', status: 'uploaded', org_id: orgA })
    const up = await t
      .as('amem')
      .post(`${base}/upload-url`, { filename: 'n.txt', content_type: 'text/plain', size: 1 }, inOrg(orgA))
    const other = await t.as('amem2').post(`${base}/confirm`, { file_id: up.body.file_id }, inOrg(orgA))
    expect(other.status).toBe(403)
    expect(other.body.error.code).toBe('AUTHORIZATION_ERROR')
    // Named in another organization, or personally, the pending upload does not exist.
    expect((await t.as('amem').post(`${base}/confirm`, { file_id: up.body.file_id })).status).toBe(404)
  })

  it('shows a member only the active organization: list, status filter, metadata and download URL', async () => {
    const list = await t.as('amem2').get(`${base}?status=uploaded`, inOrg(orgA))
    expect(list.status).toBe(200)
    expect(list.body.items.map((f: any) => f.id)).toEqual([fa.id])
    expect((await t.as('amem2').get(`${base}/${fa.id}`, inOrg(orgA))).body).toEqual(fa)
    const url = await t.as('amem2').get(`${base}/${fa.id}/download-url`, inOrg(orgA))
    expect(url.status).toBe(200)
    const got = await viaApp(t.app, url.body.download_url)
    expect(sha256(await got.arrayBuffer())).toBe(sha256(bytesA))

    for (const who of ['amem', 'aadm', 'aown']) {
      for (const path of [`${base}/${fb.id}`, `${base}/${fb.id}/download-url`]) {
        const res = await t.as(who).get(path, inOrg(orgA))
        expect(res.status).toBe(404)
        expect(res.body.error.code).toBe('NOT_FOUND')
      }
      expect((await t.as(who).delete(`${base}/${fb.id}`, inOrg(orgA))).status).toBe(404)
      expect((await t.as(who).post(`${base}/confirm`, { file_id: fb.id }, inOrg(orgA))).status).toBe(404)
    }
    const v2 = await t.as('amem').get('/api/v2/app/files', inOrg(orgA))
    expect(v2.body.data.some((f: any) => f.id === fb.id)).toBe(false)
  })

  it('answers 404 to a non-member naming an organization, for reads and uploads', async () => {
    for (const path of [base, `${base}/${fb.id}`, `${base}/${fb.id}/download-url`]) {
      const res = await t.as('amem').get(path, inOrg(orgB))
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('NOT_FOUND')
    }
    const up = await t
      .as('amem')
      .post(`${base}/upload-url`, { filename: 'x.txt', content_type: 'text/plain', size: 1 }, inOrg(orgB))
    expect(up.status).toBe(404)
  })

  it('keeps personal files private both ways', async () => {
    const mine = await upload('amem', undefined, 'diary.txt')
    expect(mine.org_id).toBeUndefined()
    expect((await t.as('aown').get(`${base}/${mine.id}`, inOrg(orgA))).status).toBe(404)
    expect((await t.as('amem').get(`${base}/${mine.id}/download-url`, inOrg(orgA))).status).toBe(404)
    const personal = await t.as('amem').get(base)
    expect(personal.body.items.map((f: any) => f.id)).toEqual([mine.id])
    expect((await t.as('amem').get(`${base}/${fa.id}/download-url`)).status).toBe(404)
    const orgList = await t.as('amem').get(base, inOrg(orgA))
    expect(orgList.body.items.map((f: any) => f.id)).not.toContain(mine.id)
  })

  it('lets another member read but not delete; the uploader and admins delete', async () => {
    const f1 = await upload('amem', orgA, 'one.txt')
    const f2 = await upload('amem', orgA, 'two.txt')
    const refused = await t.as('amem2').delete(`${base}/${f1.id}`, inOrg(orgA))
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect((await t.as('amem2').get(`${base}/${f1.id}`, inOrg(orgA))).status).toBe(200)
    expect((await t.as('aadm').delete(`${base}/${f1.id}`, inOrg(orgA))).status).toBe(204)
    expect((await t.as('amem').delete(`${base}/${f2.id}`, inOrg(orgA))).status).toBe(204)
    expect((await t.as('amem').get(`${base}/${f2.id}`, inOrg(orgA))).status).toBe(404)
  })

  it('lets the billing role read and download but not upload or delete', async () => {
    expect((await t.as('abil').get(`${base}/${fa.id}/download-url`, inOrg(orgA))).status).toBe(200)
    const up = await t
      .as('abil')
      .post(`${base}/upload-url`, { filename: 'i.txt', content_type: 'text/plain', size: 1 }, inOrg(orgA))
    expect(up.status).toBe(403)
    expect(up.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect((await t.as('abil').delete(`${base}/${fa.id}`, inOrg(orgA))).status).toBe(403)
  })

  it("confines an organization's API key to its organization's files", async () => {
    const made = await t.as('aown').post(`/api/v1/app/orgs/${orgA}/api-keys`, { name: 'ci', scopes: ['files:read'] })
    expect(made.status).toBe(201)
    const key = { headers: { authorization: `Bearer ${made.body.key}` } }
    const list = await t.get(base, key)
    expect(list.status).toBe(200)
    expect(list.body.items.map((f: any) => f.id)).toContain(fa.id)
    expect(list.body.items.every((f: any) => f.org_id === orgA)).toBe(true)
    expect((await t.get(`${base}/${fa.id}/download-url`, key)).status).toBe(200)
    expect((await t.get(`${base}/${fb.id}/download-url`, key)).status).toBe(404)
    const named = await t.get(base, { headers: { ...key.headers, 'X-Organization-ID': orgB } })
    expect(named.status).toBe(404)
  })

  it('purges a deleted organization’s files and objects through a job, and nothing else', async () => {
    const orgC = await createOrg(t, 'cown', 'Gone')
    const fc = await upload('cown', orgC, 'doomed.txt')
    const keep = await upload('cown', undefined, 'keep.txt')
    expect(existsSync(join(dataDir, 'files', fc.key))).toBe(true)
    expect((await t.as('cown').delete(`/api/v1/app/orgs/${orgC}`)).status).toBe(204)
    for (let i = 0; i < 100; i++) {
      await t.app.jobs.runDue()
      const [left] = await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from files where org_id = ${orgC}`
      if (left!.n === 0) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const rows = await t.app.db.sql<{ id: string }[]>`select id from files where id in (${fc.id}, ${keep.id}, ${fb.id})`
    expect(rows.map((r) => r.id).sort()).toEqual([keep.id, fb.id].sort())
    expect(existsSync(join(dataDir, 'files', fc.key))).toBe(false)
    expect(existsSync(join(dataDir, 'files', keep.key))).toBe(true)
  })
})

describe('files without the organizations plugin', () => {
  let plain: TestApp
  beforeAll(async () => {
    plain = await testApp({ plugins: [createFilesPlugin()], env: { DATA_DIR: tempDataDir() } })
  })
  afterAll(() => plain?.close())

  it('ignores X-Organization-ID: the upload is personal and reads exactly as before', async () => {
    const header = inOrg('6f1c2a4e-8b7d-4c3e-9a1f-2d5e6b7c8a90')
    const up = await plain
      .as('solo')
      .post(`${base}/upload-url`, { filename: 'a.txt', content_type: 'text/plain', size: 1 }, header)
    expect(up.status).toBe(200)
    const got = await plain.as('solo').get(`${base}/${up.body.file_id}`, inOrg('not-a-uuid'))
    expect(got.status).toBe(200)
    expect(Object.keys(got.body).sort()).toEqual([
      'content_type',
      'created_at',
      'filename',
      'id',
      'key',
      'size',
      'status',
      'uploaded_at',
    ])
    expect((await plain.as('solo').get(base)).body.items.map((f: any) => f.id)).toEqual([up.body.file_id])
    expect((await plain.as('other').get(`${base}/${up.body.file_id}`, header)).status).toBe(404)
  })
})

/** Files API: ownership 404s, delete, confirm semantics, metering, validation, lists, scopes and the type allow-list. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { join } from 'node:path'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import files from '../index.ts'
import { keyHeader, meterRecorder, scopedKeys, tempDataDir, viaApp } from './support.ts'

let t: TestApp
let dataDir: string
const meter = meterRecorder()

beforeAll(async () => {
  dataDir = tempDataDir()
  t = await testApp({ plugins: [files, scopedKeys, meter.plugin], env: { DATA_DIR: dataDir } })
})
afterAll(() => t?.close())

/** upload-url + PUT (+ confirm): the file id and its signed URLs. */
async function upload(user: string, name = 'notes.bin', data = new Uint8Array([1, 2, 3, 4, 5]), confirm = true) {
  const up = await t.as(user).post('/api/v1/app/files/upload-url', {
    filename: name,
    content_type: 'application/octet-stream',
    size: data.length,
  })
  expect(up.status).toBe(200)
  const put = await viaApp(t.app, up.body.upload_url, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  })
  expect(put.status).toBe(200)
  if (confirm)
    expect((await t.as(user).post('/api/v1/app/files/confirm', { file_id: up.body.file_id })).status).toBe(200)
  return up.body as { file_id: string; key: string; upload_url: string }
}

describe('files ownership and deletion', () => {
  it("answers 404 when bob confirms, reads, downloads or deletes alice's file", async () => {
    const { file_id, key } = await upload('alice', 'private.bin', undefined, false)
    const bob = t.as('bob')
    const confirm = await bob.post('/api/v1/app/files/confirm', { file_id })
    expect(confirm.status).toBe(404)
    expect(confirm.body.error).toEqual({
      code: 'NOT_FOUND',
      message: 'File not found',
      details: { resource: 'File', id: file_id },
    })
    expect((await t.as('alice').post('/api/v1/app/files/confirm', { file_id })).status).toBe(200)
    expect((await bob.get(`/api/v1/app/files/${file_id}`)).status).toBe(404)
    expect((await bob.get(`/api/v1/app/files/${file_id}/download-url`)).status).toBe(404)
    expect((await bob.delete(`/api/v1/app/files/${file_id}`)).status).toBe(404)
    expect((await bob.get('/api/v1/app/files')).body.total).toBe(0)
    expect(existsSync(join(dataDir, 'files', key))).toBe(true)
    expect((await t.as('alice').get(`/api/v1/app/files/${file_id}`)).body.status).toBe('uploaded')
  })

  it('deletes the object and the row (204), then answers 404 everywhere', async () => {
    const { file_id, key } = await upload('alice', 'gone.bin')
    const dl = (await t.as('alice').get(`/api/v1/app/files/${file_id}/download-url`)).body.download_url
    const del = await t.as('alice').delete(`/api/v1/app/files/${file_id}`)
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expect(existsSync(join(dataDir, 'files', key))).toBe(false)
    for (const res of [
      await t.as('alice').get(`/api/v1/app/files/${file_id}`),
      await t.as('alice').get(`/api/v1/app/files/${file_id}/download-url`),
      await t.as('alice').post('/api/v1/app/files/confirm', { file_id }),
      await t.as('alice').delete(`/api/v1/app/files/${file_id}`),
    ]) {
      expect(res.status).toBe(404)
    }
    expect((await viaApp(t.app, dl)).status).toBe(404)
  })

  it('answers 404 for ids that are not UUIDs', async () => {
    for (const id of ['abc', 'file_abc123', "1' or '1'='1"]) {
      expect((await t.as('alice').get(`/api/v1/app/files/${encodeURIComponent(id)}`)).status).toBe(404)
      expect((await t.as('alice').delete(`/api/v1/app/files/${encodeURIComponent(id)}`)).status).toBe(404)
    }
    expect(
      (await t.request('PUT', '/api/v1/public/files/abc?key=k&size=1&type=a/b&expires=1&signature=x')).status,
    ).toBe(404)
  })
})

describe('files confirm', () => {
  it('refuses a confirm before the upload with 400, is harmless twice, and meters once', async () => {
    meter.events.length = 0
    const up = await t
      .as('carol')
      .post('/api/v1/app/files/upload-url', { filename: 'c.bin', content_type: 'application/octet-stream', size: 5 })
    const file_id = up.body.file_id
    const early = await t.as('carol').post('/api/v1/app/files/confirm', { file_id })
    expect(early.status).toBe(400)
    expect(early.body.error.code).toBe('BAD_REQUEST')
    expect(early.body.error.message).toMatch(/not uploaded/i)
    expect((await t.as('carol').get(`/api/v1/app/files/${file_id}`)).body.status).toBe('pending')
    const put = await viaApp(t.app, up.body.upload_url, {
      method: 'PUT',
      body: new Uint8Array(5),
      headers: { 'content-type': 'application/octet-stream' },
    })
    expect(put.status).toBe(200)
    const first = await t.as('carol').post('/api/v1/app/files/confirm', { file_id })
    const again = await t.as('carol').post('/api/v1/app/files/confirm', { file_id })
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.body).toEqual(first.body)
    expect(meter.events.filter((e) => e.metric === 'file_uploads').length).toBe(1)
    expect(meter.events.find((e) => e.metric === 'storage_bytes')).toMatchObject({ userId: 'carol', value: 5 })
  })

  it('refuses a confirm when the stored object has another size than declared', async () => {
    const up = (
      await t.as('carol').post('/api/v1/app/files/upload-url', {
        filename: 'odd.bin',
        content_type: 'application/octet-stream',
        size: 5,
      })
    ).body
    const path = join(dataDir, 'files', up.key)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, new Uint8Array(3))
    const res = await t.as('carol').post('/api/v1/app/files/confirm', { file_id: up.file_id })
    expect(res.status).toBe(400)
    expect(res.body.error.details).toMatchObject({ declared: 5, stored: 3 })
    expect((await t.as('carol').get(`/api/v1/app/files/${up.file_id}`)).body.status).toBe('pending')
  })

  it('meters downloads and gives the bytes back on delete', async () => {
    meter.events.length = 0
    const { file_id } = await upload('dave')
    await t.as('dave').get(`/api/v1/app/files/${file_id}/download-url`)
    await t.as('dave').delete(`/api/v1/app/files/${file_id}`)
    const mine = meter.events.filter((e) => e.metric !== 'api_requests').map((e) => [e.metric, e.value])
    expect(mine).toEqual([
      ['file_uploads', 1],
      ['storage_bytes', 5],
      ['file_downloads', 1],
      ['storage_bytes', -5],
    ])
  })

  it('answers 409 for a download URL of an unconfirmed upload', async () => {
    const { file_id } = await upload('erin', 'e.bin', undefined, false)
    const res = await t.as('erin').get(`/api/v1/app/files/${file_id}/download-url`)
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('CONFLICT')
  })
})

describe('files validation, lists and scopes', () => {
  const expect422 = (res: { status: number; body: any }, field: string) => {
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_ERROR')
    expect(res.body.error.details.field).toBe(field)
  }

  it('answers 422 with details.field for bad upload requests', async () => {
    const a = t.as('val')
    const ok = { filename: 'a.txt', content_type: 'text/plain', size: 1 }
    expect422(await a.post('/api/v1/app/files/upload-url', { ...ok, filename: '' }), 'filename')
    expect422(await a.post('/api/v1/app/files/upload-url', { content_type: 'text/plain', size: 1 }), 'filename')
    expect422(await a.post('/api/v1/app/files/upload-url', { ...ok, content_type: 'not a type' }), 'content_type')
    expect422(
      await a.post('/api/v1/app/files/upload-url', { ...ok, content_type: 'text/plain\r\nx-evil: 1' }),
      'content_type',
    )
    expect422(await a.post('/api/v1/app/files/upload-url', { ...ok, size: -1 }), 'size')
    expect422(await a.post('/api/v1/app/files/upload-url', { ...ok, size: 1.5 }), 'size')
    expect422(await a.post('/api/v1/app/files/confirm', { file_id: 'nope' }), 'file_id')
    expect422(await a.get('/api/v1/app/files?status=lost'), 'status')
  })

  it('lists newest first with totals, filtered by status, and wraps v2', async () => {
    const done = [await upload('lister', '1.bin'), await upload('lister', '2.bin')]
    const pending = await upload('lister', '3.bin', undefined, false)
    const all = await t.as('lister').get('/api/v1/app/files?limit=2')
    expect(all.body).toMatchObject({ total: 3, skip: 0, limit: 2 })
    expect(all.body.items.map((f: any) => f.id)).toEqual([pending.file_id, done[1]!.file_id])
    const uploaded = await t.as('lister').get('/api/v1/app/files?status=uploaded')
    expect(uploaded.body.items.map((f: any) => f.id)).toEqual([done[1]!.file_id, done[0]!.file_id])
    expect((await t.as('lister').get('/api/v1/app/files?status=pending')).body.total).toBe(1)
    expect((await t.as('lister').get('/api/v1/app/files?skip=10')).body).toMatchObject({ items: [], total: 3 })
    const v2 = await t.as('lister').get('/api/v2/app/files?status=pending')
    expect(v2.body.data.map((f: any) => f.id)).toEqual([pending.file_id])
    expect(v2.body.meta.pagination).toEqual({ total: 1, skip: 0, limit: 20 })
    const up = await t
      .as('lister')
      .post('/api/v2/app/files/upload-url', { filename: 'v2.txt', content_type: 'text/plain', size: 1 })
    expect(up.body.data.upload_url).toBeTruthy()
    expect(up.body.meta.version).toBe('v2')
  })

  it('needs files:read to read and files:write to upload or delete with an API key', async () => {
    const { file_id } = await upload('keyed')
    const read = keyHeader('keyed', 'files:read')
    expect((await t.get('/api/v1/app/files', { headers: read })).body.total).toBe(1)
    expect((await t.get(`/api/v1/app/files/${file_id}/download-url`, { headers: read })).status).toBe(200)
    const denied = await t.post(
      '/api/v1/app/files/upload-url',
      { filename: 'x', content_type: 'text/plain', size: 1 },
      { headers: read },
    )
    expect(denied.status).toBe(403)
    expect(denied.body.error.details).toEqual({ required: 'files:write', granted: ['files:read'] })
    expect((await t.delete(`/api/v1/app/files/${file_id}`, { headers: read })).status).toBe(403)
    expect((await t.get('/api/v1/app/files', { headers: keyHeader('keyed', 'projects:read') })).status).toBe(403)
    expect((await t.delete(`/api/v1/app/files/${file_id}`, { headers: keyHeader('keyed', 'files:*') })).status).toBe(
      204,
    )
  })
})

describe('files content-type allow-list', () => {
  it('refuses types outside FILES_ALLOWED_TYPES with 422 on content_type', async () => {
    const app = await testApp({
      plugins: [files],
      env: { DATA_DIR: tempDataDir(), FILES_ALLOWED_TYPES: 'image/*,application/pdf' },
    })
    try {
      const post = (content_type: string) =>
        app.as('u').post('/api/v1/app/files/upload-url', { filename: 'f', content_type, size: 1 })
      expect((await post('image/png')).status).toBe(200)
      expect((await post('application/pdf; charset=binary')).status).toBe(200)
      const refused = await post('text/html')
      expect(refused.status).toBe(422)
      expect(refused.body.error.details).toMatchObject({
        field: 'content_type',
        allowed: ['image/*', 'application/pdf'],
      })
    } finally {
      await app.close()
    }
  })
})

/** S3 driver against a real S3-compatible server on loopback (s3rver behind a SigV4 gate). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import files from '../index.ts'
import { randomBytesOf, sha256, tempDataDir } from './support.ts'
import { S3_KEY, S3_SECRET, startTestS3, type TestS3 } from './s3-server.ts'

let s3: TestS3
let t: TestApp

beforeAll(async () => {
  s3 = await startTestS3()
  t = await testApp({
    plugins: [files],
    env: {
      DATA_DIR: tempDataDir(),
      S3_BUCKET: s3.bucket,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: S3_KEY,
      S3_SECRET_ACCESS_KEY: S3_SECRET,
      S3_FORCE_PATH_STYLE: 'true',
    },
  })
})
afterAll(async () => {
  await t?.close()
  await s3?.stop()
})

const uploadUrl = async (user: string, filename: string, content_type: string, size: number) => {
  const res = await t.as(user).post('/api/v1/app/files/upload-url', { filename, content_type, size })
  expect(res.status).toBe(200)
  return res.body as {
    upload_url: string
    file_id: string
    key: string
    expires_in: number
    headers: Record<string, string>
  }
}
const confirm = (user: string, file_id: string) => t.as(user).post('/api/v1/app/files/confirm', { file_id })

describe('files on S3', () => {
  it('runs the round trip against the store: presigned PUT, confirm by HEAD, presigned GET', async () => {
    const data = randomBytesOf(200_000)
    const up = await uploadUrl('alice', 'report final.pdf', 'application/pdf', data.length)
    expect(up.key).toBe(`uploads/alice/${up.file_id}/report final.pdf`)
    const url = new URL(up.upload_url)
    expect(url.origin).toBe(s3.endpoint)
    expect(url.pathname).toBe(`/${s3.bucket}/uploads/alice/${up.file_id}/report%20final.pdf`)
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host')
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600')
    // docs/performance-notes.md#s3-checksums: no checksum parameters in the URL (they would pin the checksum of an empty body).
    expect([...url.searchParams.keys()].some((k) => k.toLowerCase().includes('checksum'))).toBe(false)

    expect((await confirm('alice', up.file_id)).status).toBe(400)
    const put = await fetch(up.upload_url, { method: 'PUT', body: data, headers: up.headers })
    expect(put.status).toBe(200)
    const confirmed = await confirm('alice', up.file_id)
    expect(confirmed.status).toBe(200)
    expect(confirmed.body).toMatchObject({
      id: up.file_id,
      status: 'uploaded',
      size: data.length,
      content_type: 'application/pdf',
      filename: 'report final.pdf',
    })
    expect((await confirm('alice', up.file_id)).body).toEqual(confirmed.body)

    const list = await t.as('alice').get('/api/v1/app/files?status=uploaded')
    expect(list.body.items.map((f: any) => f.id)).toContain(up.file_id)

    const dl = await t.as('alice').get(`/api/v1/app/files/${up.file_id}/download-url`)
    expect(dl.status).toBe(200)
    expect(dl.body.expires_in).toBe(3600)
    const got = await fetch(dl.body.download_url)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-disposition')).toContain('attachment')
    expect(sha256(await got.arrayBuffer())).toBe(sha256(data))
    expect(s3.refused).toEqual([])
  })

  it('lets the store refuse a body larger than the signed length, or another content type', async () => {
    const up = await uploadUrl('alice', 'exact.bin', 'application/octet-stream', 100)
    const bigger = await fetch(up.upload_url, { method: 'PUT', body: randomBytesOf(101), headers: up.headers })
    expect(bigger.status).toBe(403)
    expect(await bigger.text()).toContain('SignatureDoesNotMatch')
    const otherType = await fetch(up.upload_url, {
      method: 'PUT',
      body: randomBytesOf(100),
      headers: { 'Content-Type': 'text/html' },
    })
    expect(otherType.status).toBe(403)
    expect(s3.refused.map((r) => r.reason)).toEqual(['SignatureDoesNotMatch', 'SignatureDoesNotMatch'])
    // Nothing was stored, so confirm says so; the exact body then goes through.
    expect((await confirm('alice', up.file_id)).status).toBe(400)
    expect((await fetch(up.upload_url, { method: 'PUT', body: randomBytesOf(100), headers: up.headers })).status).toBe(
      200,
    )
    expect((await confirm('alice', up.file_id)).status).toBe(200)
  })

  it("deletes the object and the row; bob never reaches alice's file", async () => {
    const up = await uploadUrl('alice', 'doomed.txt', 'text/plain', 5)
    await fetch(up.upload_url, { method: 'PUT', body: 'hello', headers: up.headers })
    expect((await confirm('bob', up.file_id)).status).toBe(404)
    expect((await confirm('alice', up.file_id)).status).toBe(200)
    expect((await t.as('bob').get(`/api/v1/app/files/${up.file_id}/download-url`)).status).toBe(404)
    expect((await t.as('bob').delete(`/api/v1/app/files/${up.file_id}`)).status).toBe(404)
    const dl = (await t.as('alice').get(`/api/v1/app/files/${up.file_id}/download-url`)).body.download_url
    expect(await (await fetch(dl)).text()).toBe('hello')
    expect((await t.as('alice').delete(`/api/v1/app/files/${up.file_id}`)).status).toBe(204)
    expect((await fetch(dl)).status).toBe(404)
    expect((await t.as('alice').get(`/api/v1/app/files/${up.file_id}`)).status).toBe(404)
  })

  it('answers 413 for a declared size over MAX_UPLOAD_BYTES and mounts no local file routes', async () => {
    const res = await t
      .as('alice')
      .post('/api/v1/app/files/upload-url', { filename: 'huge', content_type: 'video/mp4', size: 200 * 1024 * 1024 })
    expect(res.status).toBe(413)
    expect(t.app.elysia.routes.some((r) => r.path.startsWith('/api/v1/public/files'))).toBe(false)
  })
})

describe('files on an unreachable S3', () => {
  it('answers 502 EXTERNAL_SERVICE_ERROR when the store cannot be reached, and keeps the row', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const endpoint = `http://127.0.0.1:${closed.port}`
    closed.stop(true)
    const app = await testApp({
      plugins: [files],
      env: {
        DATA_DIR: tempDataDir(),
        S3_BUCKET: 'b',
        S3_ENDPOINT: endpoint,
        S3_ACCESS_KEY_ID: 'k',
        S3_SECRET_ACCESS_KEY: 's',
        S3_FORCE_PATH_STYLE: 'true',
      },
    })
    try {
      const up = await app
        .as('alice')
        .post('/api/v1/app/files/upload-url', { filename: 'a.txt', content_type: 'text/plain', size: 1 })
      expect(up.status).toBe(200)
      const res = await app.as('alice').post('/api/v1/app/files/confirm', { file_id: up.body.file_id })
      expect(res.status).toBe(502)
      expect(res.body.error).toEqual({
        code: 'EXTERNAL_SERVICE_ERROR',
        message: 'Storage service request failed',
        details: { service: 's3', action: 'head' },
      })
      expect((await app.as('alice').delete(`/api/v1/app/files/${up.body.file_id}`)).status).toBe(502)
      expect((await app.as('alice').get(`/api/v1/app/files/${up.body.file_id}`)).body.status).toBe('pending')
    } finally {
      await app.close()
    }
  })
})

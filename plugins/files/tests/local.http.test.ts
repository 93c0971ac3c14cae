/** Local driver over HTTP: the full round trip (app.handle and a real socket), and every refusal of the signed URLs. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { serve, type RunningServer } from '../../../core/runtime/bun.ts'
import { createFilesPlugin } from '../index.ts'
import { chunked, randomBytesOf, sha256, tempDataDir, viaApp } from './support.ts'

let t: TestApp
let dataDir: string
let offsetMs = 0
const files = createFilesPlugin({ now: () => new Date(Date.now() + offsetMs) })

beforeAll(async () => {
  dataDir = tempDataDir()
  t = await testApp({ plugins: [files], env: { DATA_DIR: dataDir } })
})
afterAll(() => t?.close())

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
const put = (url: string, body: BodyInit | null, type?: string, headers: Record<string, string> = {}) =>
  viaApp(t.app, url, { method: 'PUT', body, headers: type ? { 'content-type': type, ...headers } : headers })

describe('files on local disk: the round trip', () => {
  it('upload-url -> PUT -> confirm -> list -> download-url -> GET returns the same bytes', async () => {
    const data = randomBytesOf(300_000)
    const up = await uploadUrl('alice', 'document.pdf', 'application/pdf', data.length)
    expect(Object.keys(up).sort()).toEqual(['expires_in', 'file_id', 'headers', 'key', 'method', 'upload_url'])
    expect(up.expires_in).toBe(3600)
    expect(up.key).toBe(`uploads/alice/${up.file_id}/document.pdf`)
    expect(up.upload_url.startsWith(`http://localhost:8000/api/v1/public/files/${up.file_id}?`)).toBe(true)
    expect(up.headers).toEqual({ 'Content-Type': 'application/pdf' })

    const stored = await put(up.upload_url, data, 'application/pdf')
    expect(stored.status).toBe(200)
    expect(stored.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/)
    expect(existsSync(join(dataDir, 'files', up.key))).toBe(true)

    const confirmed = await t.as('alice').post('/api/v1/app/files/confirm', { file_id: up.file_id })
    expect(confirmed.status).toBe(200)
    expect(confirmed.body).toMatchObject({
      id: up.file_id,
      filename: 'document.pdf',
      content_type: 'application/pdf',
      size: data.length,
      status: 'uploaded',
    })
    expect(new Date(confirmed.body.created_at).toISOString()).toBe(confirmed.body.created_at)

    const list = await t.as('alice').get('/api/v1/app/files')
    expect(list.body).toMatchObject({ total: 1, skip: 0, limit: 20 })
    expect(list.body.items[0]).toEqual(confirmed.body)

    const dl = await t.as('alice').get(`/api/v1/app/files/${up.file_id}/download-url`)
    expect(dl.status).toBe(200)
    expect(dl.body.expires_in).toBe(3600)
    const got = await viaApp(t.app, dl.body.download_url)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('application/pdf')
    expect(got.headers.get('content-length')).toBe(String(data.length))
    expect(got.headers.get('content-disposition')).toContain('attachment; filename="document.pdf"')
    expect(got.headers.get('x-content-type-options')).toBe('nosniff')
    expect(got.headers.get('x-ratelimit-limit')).toBeTruthy()
    expect(sha256(await got.arrayBuffer())).toBe(sha256(data))
  })

  it('streams large bodies of any content type over a real socket', async () => {
    const server: RunningServer = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
    try {
      const origin = new URL(server.url).origin
      const at = (u: string) => origin + new URL(u).pathname + new URL(u).search
      // text/* and JSON files go past MAX_JSON_BODY_BYTES (1 MiB): upload paths are not JSON bodies.
      const types = [
        ['application/octet-stream', 3 * 1024 * 1024 + 7],
        ['image/png', 2 * 1024 * 1024],
        ['text/csv', 2 * 1024 * 1024],
        ['application/json', 1_500_000],
      ] as const
      for (const [type, size] of types) {
        const data = randomBytesOf(size)
        const up = await uploadUrl('alice', `big.${type.split('/')[1]}`, type, data.length)
        const res = await fetch(at(up.upload_url), {
          method: 'PUT',
          body: chunked(data, 64 * 1024),
          headers: { 'content-type': type },
          duplex: 'half',
        } as RequestInit)
        expect(res.status).toBe(200)
        expect((await t.as('alice').post('/api/v1/app/files/confirm', { file_id: up.file_id })).body.status).toBe(
          'uploaded',
        )
        const dl = await t.as('alice').get(`/api/v1/app/files/${up.file_id}/download-url`)
        const got = await fetch(at(dl.body.download_url))
        expect(sha256(await got.arrayBuffer())).toBe(sha256(data))
      }
    } finally {
      await Promise.race([server.shutdown().catch(() => {}), new Promise((r) => setTimeout(r, 2000))])
    }
  })
})

describe('files on local disk: what the signed URL refuses', () => {
  it('refuses a body larger than declared with 413, by header and by count, and a shorter one with 400', async () => {
    const up = await uploadUrl('alice', 'small.bin', 'application/octet-stream', 10)
    const byHeader = await put(up.upload_url, randomBytesOf(11), 'application/octet-stream')
    expect(byHeader.status).toBe(413)
    expect((await byHeader.json()).error.code).toBe('PAYLOAD_TOO_LARGE')
    const byCount = await put(up.upload_url, chunked(randomBytesOf(5000), 100), 'application/octet-stream')
    expect(byCount.status).toBe(413)
    const short = await put(up.upload_url, randomBytesOf(9), 'application/octet-stream')
    expect(short.status).toBe(400)
    const shortChunked = await put(up.upload_url, chunked(randomBytesOf(9), 4), 'application/octet-stream')
    expect(shortChunked.status).toBe(400)
    // Nothing half-written is left behind, and confirm says nothing was uploaded.
    expect(readdirSync(join(dataDir, 'files', 'uploads', 'alice', up.file_id))).toEqual([])
    const confirm = await t.as('alice').post('/api/v1/app/files/confirm', { file_id: up.file_id })
    expect(confirm.status).toBe(400)
    expect(confirm.body.error.message).toMatch(/not uploaded/i)
  })

  it('refuses a content type other than the signed one with 415', async () => {
    const up = await uploadUrl('alice', 'photo.png', 'image/png', 4)
    for (const type of ['image/jpeg', 'text/html', undefined]) {
      const res = await put(up.upload_url, new Uint8Array([1, 2, 3, 4]), type)
      expect(res.status).toBe(415)
      expect((await res.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    expect((await put(up.upload_url, new Uint8Array([1, 2, 3, 4]), 'IMAGE/PNG')).status).toBe(200)
  })

  it('refuses tampered signatures, a GET URL used to PUT, and expired URLs with 403', async () => {
    const up = await uploadUrl('alice', 'a.txt', 'image/gif', 3)
    const tamper = (k: string, v: string) => {
      const u = new URL(up.upload_url)
      u.searchParams.set(k, v)
      return u.toString()
    }
    const cases = [
      tamper('size', '3000000'),
      tamper('type', 'text/html'),
      tamper('key', up.key.replace('alice', 'bob')),
      tamper('key', `uploads/alice/${up.file_id}/../../../escape.txt`),
      tamper('expires', String(Math.floor(Date.now() / 1000) + 999_999)),
      tamper('signature', 'A'.repeat(43)),
      tamper('signature', ''),
      up.upload_url.replace(up.file_id, crypto.randomUUID()),
    ]
    for (const url of cases) {
      const res = await put(url, new Uint8Array([1, 2, 3]), 'image/gif')
      expect(res.status).toBe(403)
      expect((await res.json()).error.code).toBe('AUTHORIZATION_ERROR')
    }
    expect(existsSync(resolve(dataDir, 'files', 'escape.txt'))).toBe(false)

    expect((await put(up.upload_url, new Uint8Array([1, 2, 3]), 'image/gif')).status).toBe(200)
    await t.as('alice').post('/api/v1/app/files/confirm', { file_id: up.file_id })
    const dl = (await t.as('alice').get(`/api/v1/app/files/${up.file_id}/download-url`)).body.download_url
    expect((await put(dl, new Uint8Array([9, 9, 9]), 'image/gif')).status).toBe(403)

    offsetMs = 3601_000
    try {
      const late = await put(up.upload_url, new Uint8Array([1, 2, 3]), 'image/gif')
      expect(late.status).toBe(403)
      expect((await late.json()).error.message).toMatch(/expired/i)
      expect((await viaApp(t.app, dl)).status).toBe(403)
    } finally {
      offsetMs = 0
    }
    expect((await viaApp(t.app, dl)).status).toBe(200)
  })

  it('keeps ../ and absolute names under the user prefix', async () => {
    const names = [
      '../../../etc/passwd',
      '/etc/passwd',
      '..\\..\\windows\\win.ini',
      '..',
      '.',
      'a/../../b.txt',
      'evil\u0000name\r\n.txt',
      `${'x'.repeat(400)}.tar.gz`,
      '\u202egnp.exe',
    ]
    for (const name of names) {
      const up = await uploadUrl('alice', name, 'application/octet-stream', 1)
      const segments = up.key.split('/')
      expect(segments.length).toBe(4)
      expect(segments.slice(0, 3)).toEqual(['uploads', 'alice', up.file_id])
      expect(['', '.', '..']).not.toContain(segments[3])
      expect(segments[3]!.startsWith('.')).toBe(false)
      expect(/[\u0000-\u001f\u202e\\]/.test(segments[3]!)).toBe(false)
      expect(new TextEncoder().encode(segments[3]).length).toBeLessThanOrEqual(200)
      expect((await put(up.upload_url, new Uint8Array([7]), 'application/octet-stream')).status).toBe(200)
      const onDisk = resolve(dataDir, 'files', up.key)
      expect(onDisk.startsWith(resolve(dataDir, 'files', 'uploads', 'alice', up.file_id) + sep)).toBe(true)
      expect(readFileSync(onDisk)).toEqual(Buffer.from([7]))
    }
    expect(existsSync(resolve(dataDir, 'etc'))).toBe(false)
    // A user id (the JWT sub) cannot climb out either.
    const odd = await uploadUrl('../../evil/sub', 'x.txt', 'text/plain', 1)
    expect(odd.key.split('/').length).toBe(4)
    expect(odd.key.startsWith('uploads/..%2F..%2Fevil%2Fsub/')).toBe(true)
  })

  it('answers 413 PAYLOAD_TOO_LARGE for a declared size over MAX_UPLOAD_BYTES', async () => {
    const res = await t.as('alice').post('/api/v1/app/files/upload-url', {
      filename: 'huge.bin',
      content_type: 'application/octet-stream',
      size: 200 * 1024 * 1024,
    })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(res.body.error.details.limit).toBe(52_428_800)
  })
})

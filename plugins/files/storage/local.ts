/**
 * Local disk driver (the default): files live under `${DATA_DIR}/files/<key>`; the app itself
 * serves the signed, expiring PUT and GET URLs under /api/v1/public/files/{file_id}. Bodies are
 * streamed to and from disk, never held whole in memory.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { AppError, badRequest, forbidden, isUuid, notFound, payloadTooLarge } from '../../../core/index.ts'
import { attachment, keyFilename, mediaType } from '../keys.ts'
import type { SignedFields, Signer } from './signing.ts'
import type { StorageDriver } from './types.ts'

export interface SignedQuery {
  key: string
  size?: string
  type: string
  expires: string
  signature: string
}

export interface LocalStorage extends StorageDriver {
  readonly kind: 'local'
  readonly root: string
  /** The checked fields of a signed URL; 403 when tampered with or expired. */
  authorize(op: 'PUT' | 'GET', id: string, query: SignedQuery): SignedFields
  /** Streams a PUT body to disk: exactly `size` bytes of `type`, else 413 / 400 / 415. */
  receive(request: Request, fields: SignedFields): Promise<Response>
  /** Streams the object back as an attachment. */
  serve(fields: SignedFields): Promise<Response>
}

export interface LocalStorageOptions {
  dataDir: string
  publicUrl: string
  signer: Signer
  now?: () => Date
}

const DIGITS = /^\d{1,15}$/

export function createLocalStorage({
  dataDir,
  publicUrl,
  signer,
  now = () => new Date(),
}: LocalStorageOptions): LocalStorage {
  const root = resolve(dataDir, 'files')
  const base = publicUrl.replace(/\/+$/, '')

  /** The path of a key, refusing anything that could leave `root` (defence in depth: keys are built safe). */
  const pathOf = (key: string): string => {
    const segments = key.split('/')
    if (
      !key ||
      isAbsolute(key) ||
      /[\\\u0000-\u001f]/.test(key) ||
      segments.some((s) => s === '' || s === '.' || s === '..')
    ) {
      throw badRequest('Invalid object key')
    }
    const path = resolve(root, key)
    if (!path.startsWith(root + sep)) throw badRequest('Invalid object key')
    return path
  }

  const url = (f: SignedFields) => {
    const q = new URLSearchParams({
      key: f.key,
      size: String(f.size),
      type: f.type,
      expires: String(f.expires),
      signature: signer.sign(f),
    })
    return `${base}/api/v1/public/files/${f.id}?${q}`
  }
  const expiry = (seconds: number) => Math.floor(now().getTime() / 1000) + seconds

  return {
    kind: 'local',
    root,

    async presignUpload({ id, key, size, contentType, expiresIn }) {
      pathOf(key)
      return {
        url: url({ op: 'PUT', id, key, size, type: contentType, expires: expiry(expiresIn) }),
        method: 'PUT',
        headers: { 'Content-Type': contentType },
      }
    },

    async presignDownload({ id, key, size, contentType, expiresIn }) {
      pathOf(key)
      return url({ op: 'GET', id, key, size, type: contentType, expires: expiry(expiresIn) })
    },

    async head(key) {
      try {
        const s = await stat(pathOf(key))
        return s.isFile() ? { size: s.size } : null
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw err
      }
    },

    async delete(key) {
      const path = pathOf(key)
      await rm(path, { force: true })
      // The {file_id} folder is the file's own; drop it once empty.
      await rmdir(dirname(path)).catch(() => {})
    },

    authorize(op, id, q) {
      if (!isUuid(id)) throw notFound('File', id)
      if (!DIGITS.test(q.size ?? '') || !DIGITS.test(q.expires)) throw forbidden('Invalid signature')
      const fields: SignedFields = {
        op,
        id,
        key: q.key,
        size: Number(q.size),
        type: q.type,
        expires: Number(q.expires),
      }
      if (!signer.verify(fields, q.signature)) throw forbidden('Invalid signature')
      if (fields.expires * 1000 < now().getTime()) {
        throw forbidden('Signed URL expired', { expired_at: new Date(fields.expires * 1000).toISOString() })
      }
      return fields
    },

    async receive(request, f) {
      const sent = mediaType(request.headers.get('content-type'))
      if (sent !== mediaType(f.type)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${f.type}`, {
          expected: f.type,
          received: sent || null,
        })
      }
      const length = request.headers.get('content-length')
      if (length !== null && Number(length) > f.size) throw payloadTooLarge(f.size)
      if (length !== null && Number(length) < f.size)
        throw badRequest(`Body is ${length} bytes; this URL was signed for ${f.size}`)
      const body = request.body
      if (body?.locked || request.bodyUsed) {
        // The core's JSON parser read it first (see README "Limits"): nothing left to store.
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `This server cannot store ${sent} uploads on local disk`, {
          received: sent,
        })
      }
      const target = pathOf(f.key)
      await mkdir(dirname(target), { recursive: true })
      const temp = `${target}.${randomUUID()}.part`
      const md5 = createHash('md5')
      let received = 0
      const file = await open(temp, 'wx', 0o600)
      try {
        if (body) {
          const reader = body.getReader()
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            received += value.byteLength
            if (received > f.size) {
              await reader.cancel().catch(() => {})
              throw payloadTooLarge(f.size)
            }
            md5.update(value)
            await file.write(value)
          }
        }
        if (received !== f.size) throw badRequest(`Body is ${received} bytes; this URL was signed for ${f.size}`)
        await file.close()
        await rename(temp, target)
      } catch (err) {
        await file.close().catch(() => {})
        await rm(temp, { force: true })
        throw err
      }
      return new Response(null, { status: 200, headers: { etag: `"${md5.digest('hex')}"` } })
    },

    async serve(f) {
      const path = pathOf(f.key)
      const info = await stat(path).catch(() => null)
      if (!info?.isFile()) throw notFound('File', f.id)
      const Bun = (globalThis as { Bun?: { file(p: string): Blob } }).Bun
      const body = Bun ? Bun.file(path).stream() : (Readable.toWeb(createReadStream(path)) as unknown as ReadableStream)
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': f.type,
          'content-length': String(info.size),
          'content-disposition': attachment(keyFilename(f.key)),
          'cache-control': 'private, no-transform',
          // Served from the API's origin: never sniffed, never run (an uploaded HTML page stays inert).
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
        },
      })
    },
  }
}

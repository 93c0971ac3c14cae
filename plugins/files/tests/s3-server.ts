/**
 * A real S3-compatible server for the S3 driver's tests: s3rver (an S3 API in Node, run in-process)
 * behind a gate that checks presigned SigV4 query signatures as AWS does. s3rver checks only v2
 * signatures; the gate makes a presigned PUT with another length or type fail with 403
 * SignatureDoesNotMatch, like AWS S3, MinIO and R2. Loopback only.
 */
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

export const S3_KEY = 'S3RVER'
export const S3_SECRET = 'S3RVER'

export interface TestS3 {
  endpoint: string
  bucket: string
  /** Presigned requests the gate refused, with the reason. */
  refused: { method: string; path: string; reason: string }[]
  stop(): Promise<void>
}

const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

/** Why a presigned request fails AWS's check (signature v4, query form), or null when it passes. */
export function presignedProblem(request: Request, secret: string, now = Date.now()): string | null {
  const url = new URL(request.url)
  const q = url.searchParams
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return 'AuthorizationQueryParametersError'
  const [, date, region, service] = (q.get('X-Amz-Credential') ?? '').split('/')
  const amzDate = q.get('X-Amz-Date') ?? ''
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!m || !date || !region || !service) return 'AuthorizationQueryParametersError'
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
  if (now > signedAt + Number(q.get('X-Amz-Expires')) * 1000) return 'AccessDenied: Request has expired'
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';')
  const query = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const headers = signedHeaders
    .map((h) => `${h}:${(h === 'host' ? url.host : (request.headers.get(h) ?? '')).trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const canonical = [
    request.method,
    url.pathname,
    query,
    headers,
    signedHeaders.join(';'),
    q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  let key = hmac(`AWS4${secret}`, date)
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part)
  return hmac(key, toSign).toString('hex') === q.get('X-Amz-Signature') ? null : 'SignatureDoesNotMatch'
}

const xmlError = (code: string, message: string) =>
  new Response(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    {
      status: 403,
      headers: { 'content-type': 'application/xml' },
    },
  )

export async function startTestS3(bucket = 'omnistack-test'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'omnistack-s3rver-'))
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await s3rver.run()
  const refused: TestS3['refused'] = []

  const gate = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const url = new URL(request.url)
      if (url.searchParams.has('X-Amz-Signature')) {
        const problem = presignedProblem(request, S3_SECRET)
        if (problem) {
          refused.push({ method: request.method, path: url.pathname, reason: problem })
          const [code, message = 'The request signature we calculated does not match the signature you provided.'] =
            problem.split(': ')
          return xmlError(code!, message)
        }
      }
      const headers = new Headers(request.headers)
      headers.delete('host')
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
      const upstream = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: hasBody ? await request.arrayBuffer() : undefined,
      })
      return new Response(request.method === 'HEAD' ? null : upstream.body, {
        status: upstream.status,
        headers: upstream.headers,
      })
    },
  })

  return {
    endpoint: `http://127.0.0.1:${gate.port}`,
    bucket,
    refused,
    async stop() {
      gate.stop(true)
      await s3rver.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

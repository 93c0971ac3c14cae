/**
 * `npm run doctor` for files: the variables agree with each other; with S3, the bucket answers,
 * takes a write (deleted at once) and has a CORS rule that lets each CORS_ORIGINS origin PUT
 * (browsers upload to the presigned URL directly).
 */
import {
  DeleteObjectCommand,
  GetBucketCorsCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  type CORSRule,
} from '@aws-sdk/client-s3'
import { ConfigError, doctor, type DoctorCheck, type DoctorContext } from '../../core/index.ts'
import { checkFilesConfig, type FilesConfig } from './config.ts'
import { s3ClientConfig } from './storage/s3.ts'

export async function filesDoctor({ config: c, core, timeoutMs }: DoctorContext<FilesConfig>): Promise<DoctorCheck[]> {
  try {
    checkFilesConfig(c)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems.map((p) => doctor.fail('config', p, 'fix the S3_* / FILES_* variables; docs/plugins/files.md'))
  }
  if (!c.s3Bucket) return [doctor.pass('storage', `local disk in ${core.dataDir} (one replica, or a shared volume)`)]
  const bucket = c.s3Bucket
  const client = new S3Client({
    ...s3ClientConfig({
      region: c.s3Region,
      endpoint: c.s3Endpoint,
      accessKeyId: c.s3AccessKeyId,
      secretAccessKey: c.s3SecretAccessKey,
      forcePathStyle: c.s3ForcePathStyle,
    }),
    endpoint: c.s3Endpoint,
    maxAttempts: 1,
  })
  const within = <T>(work: Promise<T>, what: string) => doctor.withTimeout(work, timeoutMs, what)
  try {
    try {
      await within(client.send(new HeadBucketCommand({ Bucket: bucket })), `S3 bucket ${bucket}`)
    } catch (err) {
      return [
        doctor.fail(
          'S3_BUCKET',
          `bucket ${bucket} unreachable: ${s3Reason(err)}`,
          'check S3_BUCKET, S3_ENDPOINT, S3_REGION and the access keys; the bucket must exist',
        ),
      ]
    }
    const checks = [doctor.pass('S3_BUCKET', `bucket ${bucket} answers`)]
    const key = `.omnistack-doctor/${crypto.randomUUID()}`
    try {
      await within(
        client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'doctor' })),
        `S3 write to ${bucket}`,
      )
      await within(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })), `S3 delete in ${bucket}`)
      checks.push(doctor.pass('S3 write', `wrote and deleted ${key}`))
    } catch (err) {
      checks.push(
        doctor.fail(
          'S3 write',
          `cannot write to ${bucket}: ${s3Reason(err)}`,
          'grant the access key s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket',
        ),
      )
    }
    checks.push(
      await corsCheck(
        () => within(client.send(new GetBucketCorsCommand({ Bucket: bucket })), `S3 CORS of ${bucket}`),
        bucket,
        core.corsOrigins,
      ),
    )
    return checks
  } finally {
    client.destroy()
  }
}

async function corsCheck(
  readRules: () => Promise<{ CORSRules?: CORSRule[] }>,
  bucket: string,
  origins: readonly string[],
): Promise<DoctorCheck> {
  const name = 'S3 CORS'
  const fix = `add a CORS rule to bucket ${bucket}: AllowedOrigins ${origins.length ? origins.join(', ') : '<your web origins>'}, AllowedMethods PUT and GET, AllowedHeaders * (docs/plugins/files.md)`
  if (!origins.length)
    return doctor.warn(name, 'CORS_ORIGINS unset: no browser origin to check the bucket rule against', fix)
  let rules: CORSRule[]
  try {
    rules = (await readRules()).CORSRules ?? []
  } catch (err) {
    const code = (err as { name?: string }).name
    if (code === 'NoSuchCORSConfiguration') rules = []
    // MinIO keeps CORS server-wide (MINIO_API_CORS_ALLOW_ORIGIN), not per bucket.
    else if (code === 'NotImplemented')
      return doctor.warn(
        name,
        `the store keeps no per-bucket CORS rules (${s3Reason(err)}): not checked`,
        'allow CORS_ORIGINS in the store itself (MinIO: MINIO_API_CORS_ALLOW_ORIGIN)',
      )
    else return doctor.fail(name, `cannot read the CORS rules of ${bucket}: ${s3Reason(err)}`, fix)
  }
  const refused = origins.filter((origin) => !rules.some((rule) => allowsUpload(rule, origin)))
  if (refused.length)
    return doctor.fail(
      name,
      `no rule lets ${refused.join(', ')} PUT with a Content-Type header: browser uploads would be blocked`,
      fix,
    )
  return doctor.pass(name, `uploads allowed from ${origins.join(', ')}`)
}

/** S3's own matching: an origin equal to the rule's, or a pattern with one `*`. */
function allowsUpload(rule: CORSRule, origin: string): boolean {
  const matches = (pattern: string) => {
    if (pattern === '*' || pattern === origin) return true
    const star = pattern.indexOf('*')
    return star >= 0 && origin.startsWith(pattern.slice(0, star)) && origin.endsWith(pattern.slice(star + 1))
  }
  const headers = (rule.AllowedHeaders ?? []).map((h) => h.toLowerCase())
  return (
    (rule.AllowedMethods ?? []).includes('PUT') &&
    (rule.AllowedOrigins ?? []).some(matches) &&
    (headers.includes('*') || headers.includes('content-type'))
  )
}

const s3Reason = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode
  return `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${doctor.reason(err)}${status ? ` (HTTP ${status})` : ''}`
}

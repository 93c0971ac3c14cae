/** Files configuration checks and local URL signing. */
import { describe, expect, it } from 'bun:test'
import { ConfigError } from '../../core/index.ts'
import { testApp } from '../../core/testing/index.ts'
import { checkFilesConfig, type FilesConfig } from './config.ts'
import files from './index.ts'
import { createSigner, loadSigningSecret } from './storage/signing.ts'
import { tempDataDir } from './tests/support.ts'

const base: FilesConfig = {
  s3Bucket: undefined,
  s3Region: 'us-east-1',
  s3Endpoint: undefined,
  s3PublicEndpoint: undefined,
  s3AccessKeyId: undefined,
  s3SecretAccessKey: undefined,
  s3ForcePathStyle: false,
  urlTtlSeconds: 3600,
  allowedTypes: [],
  signingSecret: undefined,
  pendingTtlHours: 24,
}
const problems = (c: Partial<FilesConfig>) => {
  try {
    checkFilesConfig({ ...base, ...c })
    return []
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as ConfigError).problems
  }
}

describe('files config', () => {
  it('accepts the defaults (local disk) and a complete S3 setup', () => {
    expect(problems({})).toEqual([])
    expect(
      problems({ s3Bucket: 'b', s3Endpoint: 'http://minio:9000', s3AccessKeyId: 'k', s3SecretAccessKey: 's' }),
    ).toEqual([])
    expect(problems({ s3Bucket: 'b' })).toEqual([])
  })

  it('names the variables of an incomplete or contradictory setup', () => {
    expect(problems({ s3Endpoint: 'http://minio:9000' })).toEqual([
      'S3_BUCKET is required when other S3_* variables are set',
    ])
    expect(problems({ s3Bucket: 'b', s3AccessKeyId: 'k' })).toEqual([
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together',
    ])
    expect(problems({ allowedTypes: ['image/*', 'pdf'] })[0]).toContain('Invalid FILES_ALLOWED_TYPES')
    expect(problems({ urlTtlSeconds: 90_000 })[0]).toContain('FILES_URL_TTL_SECONDS')
  })

  it('stops the start with one line per bad variable', async () => {
    const start = testApp({
      plugins: [files],
      env: { DATA_DIR: tempDataDir(), S3_FORCE_PATH_STYLE: 'maybe', FILES_URL_TTL_SECONDS: 'soon' },
    })
    const err = await start.then(
      () => undefined,
      (e) => e,
    )
    expect(String(err)).toContain('Invalid S3_FORCE_PATH_STYLE')
    expect(String(err)).toContain('Invalid FILES_URL_TTL_SECONDS')
  })
})

describe('local URL signing', () => {
  it('keeps one generated secret per data dir, and signatures bind every field', () => {
    const dir = tempDataDir()
    const secret = loadSigningSecret(dir)
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    expect(loadSigningSecret(dir)).toBe(secret)
    expect(loadSigningSecret(dir, 'x'.repeat(40))).toBe('x'.repeat(40))
    const signer = createSigner(secret)
    const fields = { op: 'PUT' as const, id: 'id', key: 'uploads/a/id/f', size: 3, type: 'text/plain', expires: 10 }
    const sig = signer.sign(fields)
    expect(signer.verify(fields, sig)).toBe(true)
    for (const change of [
      { op: 'GET' as const },
      { id: 'id2' },
      { key: 'uploads/b/id/f' },
      { size: 4 },
      { type: 'text/html' },
      { expires: 11 },
    ]) {
      expect(signer.verify({ ...fields, ...change }, sig)).toBe(false)
    }
    expect(signer.verify(fields, sig.slice(0, -1))).toBe(false)
    expect(createSigner('another').verify(fields, sig)).toBe(false)
  })
})

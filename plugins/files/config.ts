/** Files configuration (docs/plugins/files.md#configuration: S3_* unset = local disk in DATA_DIR) and the storage driver it selects. */
import { ConfigError, env, type InferConfig, type PluginContext } from '../../core/index.ts'
import { createLocalStorage, type LocalStorage } from './storage/local.ts'
import { createSigner, loadSigningSecret } from './storage/signing.ts'
import type { StorageDriver } from './storage/types.ts'

export const filesConfig = {
  s3Bucket: env.string('S3_BUCKET', { description: 'bucket of the S3 driver; unset = local disk in DATA_DIR' }),
  s3Region: env.string<string>('S3_REGION', { default: 'us-east-1', description: 'region (`auto` for Cloudflare R2)' }),
  s3Endpoint: env.url('S3_ENDPOINT', {
    protocols: ['http', 'https'],
    description: 'custom endpoint for MinIO, R2 and other S3-compatible stores; unset = AWS',
  }),
  s3PublicEndpoint: env.url('S3_PUBLIC_ENDPOINT', {
    protocols: ['http', 'https'],
    description:
      'endpoint written into presigned URLs when clients reach the store by another name (default S3_ENDPOINT)',
  }),
  s3AccessKeyId: env.string('S3_ACCESS_KEY_ID', {
    description: 'access key; unset = the AWS default credential chain',
  }),
  s3SecretAccessKey: env.secret('S3_SECRET_ACCESS_KEY', { description: 'secret key' }),
  s3ForcePathStyle: env.bool('S3_FORCE_PATH_STYLE', {
    default: false,
    description: 'path-style URLs (MinIO and most self-hosted stores)',
  }),
  urlTtlSeconds: env.int('FILES_URL_TTL_SECONDS', {
    default: 3600,
    min: 60,
    max: 604_800,
    description: 'lifetime of upload and download URLs',
  }),
  allowedTypes: env.list('FILES_ALLOWED_TYPES', {
    description: 'comma list of MIME types or type/* patterns accepted for upload; unset = any',
  }),
  signingSecret: env.secret('FILES_SIGNING_SECRET', {
    minLength: 32,
    description: 'HMAC key of local-driver URLs; unset = a random key kept in DATA_DIR/files-signing.key',
  }),
  pendingTtlHours: env.int('FILES_PENDING_TTL_HOURS', {
    default: 24,
    min: 1,
    description: 'unconfirmed uploads older than this are removed',
  }),
}

export type FilesConfig = InferConfig<typeof filesConfig>

const TYPE_PATTERN = /^(\*\/\*|[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*))$/i

/** Rules that span variables; reported like the core's config errors, one line each. */
export function checkFilesConfig(c: FilesConfig): void {
  const problems: string[] = []
  const s3Set = c.s3Endpoint || c.s3PublicEndpoint || c.s3AccessKeyId || c.s3SecretAccessKey
  if (s3Set && !c.s3Bucket) problems.push('S3_BUCKET is required when other S3_* variables are set')
  if (Boolean(c.s3AccessKeyId) !== Boolean(c.s3SecretAccessKey))
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together')
  for (const t of c.allowedTypes) {
    if (!TYPE_PATTERN.test(t))
      problems.push(`Invalid FILES_ALLOWED_TYPES: expected MIME types or type/* patterns, got "${t}"`)
  }
  if (c.urlTtlSeconds >= c.pendingTtlHours * 3600) {
    problems.push(
      'Invalid FILES_URL_TTL_SECONDS: must be shorter than FILES_PENDING_TTL_HOURS, or cleanup could remove an upload in progress',
    )
  }
  if (problems.length) throw new ConfigError(problems)
}

export interface Storage {
  driver: StorageDriver
  /** Set for the local driver: its public routes serve the signed URLs. */
  local?: LocalStorage
}

/**
 * The S3 driver (and the AWS SDK, about 25 MB resident) is loaded only when S3_BUCKET is set: a
 * server on the local driver never loads it.
 */
export async function createStorage(ctx: PluginContext<FilesConfig>, now: () => Date): Promise<Storage> {
  const c = ctx.config
  checkFilesConfig(c)
  if (c.s3Bucket) {
    const { createS3Storage } = await import('./storage/s3.ts')
    const driver = createS3Storage({
      bucket: c.s3Bucket,
      region: c.s3Region,
      endpoint: c.s3Endpoint,
      publicEndpoint: c.s3PublicEndpoint,
      accessKeyId: c.s3AccessKeyId,
      secretAccessKey: c.s3SecretAccessKey,
      forcePathStyle: c.s3ForcePathStyle,
      logger: ctx.logger,
    })
    return { driver }
  }
  const signer = createSigner(loadSigningSecret(ctx.core.dataDir, c.signingSecret))
  const local = createLocalStorage({ dataDir: ctx.core.dataDir, publicUrl: ctx.core.publicUrl, signer, now })
  return { driver: local, local }
}

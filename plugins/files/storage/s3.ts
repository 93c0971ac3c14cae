/**
 * S3 driver: presigned PUT and GET URLs (@aws-sdk/s3-request-presigner) for AWS S3, MinIO,
 * Cloudflare R2 and other S3-compatible stores. The PUT URL signs Content-Type and
 * Content-Length, so the store itself refuses a different type or a larger body.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { externalServiceError, type Logger } from '../../../core/index.ts'
import { attachment } from '../keys.ts'
import type { StorageDriver } from './types.ts'

export interface S3StorageOptions {
  bucket: string
  region: string
  /** Custom endpoint (MinIO, R2 ...); unset = AWS. */
  endpoint?: string
  /** Endpoint written into the URLs handed to clients, when they reach the store by another name. */
  publicEndpoint?: string
  accessKeyId?: string
  secretAccessKey?: string
  forcePathStyle: boolean
  logger: Logger
}

const notFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

/** The SDK client options of the driver (also what `npm run doctor` probes the bucket with). */
export function s3ClientConfig(o: Omit<S3StorageOptions, 'bucket' | 'publicEndpoint' | 'logger'>): S3ClientConfig {
  return {
    region: o.region,
    forcePathStyle: o.forcePathStyle,
    // Unset keys = the SDK's default chain (AWS_* variables, instance or task role).
    credentials:
      o.accessKeyId && o.secretAccessKey
        ? { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }
        : undefined,
    // docs/performance-notes.md#s3-checksums: the SDK's default CRC32 checksums are refused by many S3-compatible stores, and
    // a presigned PUT would carry the checksum of an empty body.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
}

export function createS3Storage(o: S3StorageOptions): StorageDriver {
  const base = s3ClientConfig(o)
  const client = new S3Client({ ...base, endpoint: o.endpoint })
  const signer =
    o.publicEndpoint && o.publicEndpoint !== o.endpoint ? new S3Client({ ...base, endpoint: o.publicEndpoint }) : client

  const failed = (action: string, err: unknown) => {
    o.logger.error('storage request failed', { action, error: err })
    return externalServiceError('Storage service request failed', { service: 's3', action })
  }

  return {
    kind: 's3',

    async presignUpload({ key, size, contentType, expiresIn }) {
      const command = new PutObjectCommand({
        Bucket: o.bucket,
        Key: key,
        ContentType: contentType,
        ContentLength: size,
      })
      // The presigner signs only `host` and content-length unless told: add the type.
      const url = await getSignedUrl(signer, command, {
        expiresIn,
        signableHeaders: new Set(['content-type', 'content-length']),
      })
      return { url, method: 'PUT', headers: { 'Content-Type': contentType } }
    },

    presignDownload({ key, contentType, filename, expiresIn }) {
      const command = new GetObjectCommand({
        Bucket: o.bucket,
        Key: key,
        ResponseContentType: contentType,
        ResponseContentDisposition: attachment(filename),
      })
      return getSignedUrl(signer, command, { expiresIn })
    },

    async head(key) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key }))
        return { size: Number(r.ContentLength ?? 0), contentType: r.ContentType }
      } catch (err) {
        if (notFound(err)) return null
        throw failed('head', err)
      }
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: key }))
      } catch (err) {
        if (!notFound(err)) throw failed('delete', err)
      }
    },

    close() {
      client.destroy()
      if (signer !== client) signer.destroy()
    },
  }
}

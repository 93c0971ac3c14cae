/** The storage driver interface both drivers implement (S3 and local disk). */

export interface UploadRequest {
  /** The file's id (bound into local signatures; S3 keys already carry it). */
  id: string
  key: string
  /** Exact body length the URL admits. */
  size: number
  contentType: string
  expiresIn: number
}

export interface UploadTarget {
  url: string
  method: 'PUT'
  /** Headers the client must send with the body (the signature covers them). */
  headers: Record<string, string>
}

export interface DownloadRequest {
  id: string
  key: string
  size: number
  contentType: string
  /** Name the browser saves the file under. */
  filename: string
  expiresIn: number
}

export interface StoredObject {
  size: number
  contentType?: string
}

export interface StorageDriver {
  readonly kind: 'local' | 's3'
  /** A URL that accepts exactly `size` bytes of `contentType` at `key` until it expires. */
  presignUpload(req: UploadRequest): Promise<UploadTarget>
  /** A URL that serves the object at `key` until it expires. */
  presignDownload(req: DownloadRequest): Promise<string>
  /** The stored object, or null when there is none. */
  head(key: string): Promise<StoredObject | null>
  /** Removes the object; a missing one is not an error. */
  delete(key: string): Promise<void>
  close?(): void
}

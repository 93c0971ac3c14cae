/** TypeBox models of the files plugin (docs/plugins/files.md). */
import { pageQuery, t } from '../../core/index.ts'

// type/subtype with optional token parameters; no quotes, spaces or line breaks to smuggle.
const MEDIA_TYPE =
  '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\\s*;\\s*[A-Za-z0-9!#$&^_.+-]+=[A-Za-z0-9!#$&^_.+-]+)*$'

export namespace FileModel {
  export const status = t.Union([t.Literal('pending'), t.Literal('uploaded')])

  export const file = t.Object({
    id: t.String({ format: 'uuid' }),
    filename: t.String(),
    content_type: t.String(),
    size: t.Integer(),
    status,
    key: t.String({ description: 'uploads/{user_id}/{file_id}/{safe filename}' }),
    org_id: t.Optional(
      t.String({ format: 'uuid', description: 'The organization it belongs to; absent on a personal file' }),
    ),
    created_at: t.String({ format: 'date-time' }),
    uploaded_at: t.Union([t.String({ format: 'date-time' }), t.Null()]),
  })
  export type file = typeof file.static

  export const uploadRequest = t.Object({
    filename: t.String({ minLength: 1, maxLength: 1024, description: 'Original file name; made safe for the key' }),
    content_type: t.String({
      minLength: 3,
      maxLength: 255,
      pattern: MEDIA_TYPE,
      description: 'MIME type the upload must be sent with',
    }),
    size: t.Integer({ minimum: 0, description: 'Exact size in bytes (at most MAX_UPLOAD_BYTES)' }),
  })
  export type uploadRequest = typeof uploadRequest.static

  export const uploadUrl = t.Object({
    upload_url: t.String({ description: 'PUT the bytes here before expires_in seconds pass' }),
    file_id: t.String({ format: 'uuid' }),
    key: t.String(),
    expires_in: t.Integer(),
    method: t.Literal('PUT'),
    headers: t.Record(t.String(), t.String(), { description: 'Headers to send with the PUT (Content-Type)' }),
  })

  export const confirm = t.Object({ file_id: t.String({ format: 'uuid' }) })

  export const listQuery = t.Object({
    ...pageQuery,
    status: t.Optional(
      t.Union([t.Literal('pending'), t.Literal('uploaded')], { description: 'Only files in this state' }),
    ),
  })
  export type listQuery = typeof listQuery.static

  export const list = t.Object({ items: t.Array(file), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })

  export const params = t.Object({ file_id: t.String({ description: 'File ID (UUID)' }) })

  export const downloadUrl = t.Object({ download_url: t.String(), expires_in: t.Integer() })

  /** The query of a local-driver URL: every field is covered by the signature. */
  export const signedQuery = t.Object({
    key: t.String(),
    size: t.String(),
    type: t.String(),
    expires: t.String({ description: 'Unix seconds' }),
    signature: t.String(),
  })
}

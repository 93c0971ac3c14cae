/** Files routes: /app/files (docs/plugins/files.md) and, for the local driver, the signed /public/files URLs. */
import { jsonDoc, type PublicRouterFactory, type RouteContext } from '../../core/index.ts'
import { FileModel } from './schema.ts'
import { fileActorOf } from './access.ts'
import type { FilesService } from './service.ts'
import type { LocalStorage, SignedQuery } from './storage/local.ts'

/** S3-compatible storage answered an error or could not be reached (the local driver never does). */
const STORAGE_FAILED = { 502: { description: 'The storage service failed (EXTERNAL_SERVICE_ERROR)' } }

// TypeBox schemas are JSON Schema; `{}` satisfies the OpenAPI types' SchemaObject.
export const fileRoutes = ({ router }: RouteContext, files: FilesService) =>
  router('/files')
    .post('/upload-url', ({ principal, body }) => files.createUpload(fileActorOf(principal), body), {
      body: FileModel.uploadRequest,
      response: { 200: FileModel.uploadUrl },
      scope: 'files:write',
      detail: {
        summary: 'Get a presigned upload URL',
        description:
          'PUT exactly `size` bytes with the returned headers to `upload_url`, then confirm. 413 when size exceeds MAX_UPLOAD_BYTES. With X-Organization-ID the file belongs to that organization (403 for its billing role).',
      },
    })
    .post('/confirm', ({ principal, body }) => files.confirm(fileActorOf(principal), body.file_id), {
      body: FileModel.confirm,
      response: { 200: FileModel.file },
      scope: 'files:write',
      detail: {
        summary: 'Confirm an upload',
        description:
          'Checks the stored object (exists, declared size); 400 when nothing was uploaded. Confirming twice is harmless.',
        responses: { 404: { description: 'No such file of yours' }, ...STORAGE_FAILED },
      },
    })
    .get('', ({ principal, query }) => files.list(fileActorOf(principal), query), {
      query: FileModel.listQuery,
      scope: 'files:read',
      // Documented rather than declared: a `response` schema would copy the page and drop its v2 marker.
      detail: {
        summary: 'List my files',
        description: "My personal files, or with X-Organization-ID the organization's.",
        responses: { 200: jsonDoc('A page of files, newest first', FileModel.list) },
      },
    })
    .get('/:file_id', ({ principal, params }) => files.get(fileActorOf(principal), params.file_id), {
      params: FileModel.params,
      response: { 200: FileModel.file },
      scope: 'files:read',
      detail: { summary: 'Get a file' },
    })
    .get(
      '/:file_id/download-url',
      ({ principal, params }) => files.downloadUrl(fileActorOf(principal), params.file_id),
      {
        params: FileModel.params,
        response: { 200: FileModel.downloadUrl },
        scope: 'files:read',
        detail: {
          summary: 'Get a presigned download URL',
          description: '409 while the upload is not confirmed.',
          responses: { 409: { description: 'The upload is not confirmed yet' } },
        },
      },
    )
    .delete(
      '/:file_id',
      async ({ principal, params, set }) => {
        await files.remove(fileActorOf(principal), params.file_id)
        set.status = 204
      },
      {
        params: FileModel.params,
        scope: 'files:write',
        detail: {
          summary: 'Delete a file and its stored object',
          responses: { 204: { description: 'Deleted' }, ...STORAGE_FAILED },
          description: "In an organization: its owners and admins and the file's uploader (else 403).",
        },
      },
    )

const binary = { content: { '*/*': { schema: { type: 'string' as const, format: 'binary' } } } }

/** Local driver only: the app serves its own signed URLs (no bearer: the signature is the credential). */
export const localFileRoutes = (router: PublicRouterFactory, local: LocalStorage) =>
  router('/files')
    .put(
      '/:file_id',
      ({ request, params, query }) =>
        local.receive(request, local.authorize('PUT', params.file_id, query as SignedQuery)),
      {
        params: FileModel.params,
        query: FileModel.signedQuery,
        // Leave the body unread for every content type: receive() streams it to disk.
        parse: () => null,
        detail: {
          summary: 'Upload to a signed URL (local storage)',
          description:
            'Exactly `size` bytes with the signed Content-Type. 403 tampered or expired, 413 larger than signed, 415 another type.',
          requestBody: binary,
          responses: { 200: { description: 'Stored (ETag: MD5 of the body)' } },
        },
      },
    )
    .get(
      '/:file_id',
      ({ params, query }) => local.serve(local.authorize('GET', params.file_id, query as SignedQuery)),
      {
        params: FileModel.params,
        query: FileModel.signedQuery,
        detail: {
          summary: 'Download from a signed URL (local storage)',
          responses: { 200: { description: 'The file, as an attachment', ...binary } },
        },
      },
    )

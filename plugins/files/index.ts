/** Files: presigned uploads and downloads on S3 or local disk, confirmed against the store (docs/plugins/files.md). */
import { definePlugin, optional } from '../../core/index.ts'
import { createStorage, filesConfig, type FilesConfig, type Storage } from './config.ts'
import type { OrganizationsPort } from './ports.ts'
import { subscribeOrgCleanup } from './org-cleanup.ts'
import { fileRoutes, localFileRoutes } from './routes.ts'
import { createFilesService, type FilesService, type FileView } from './service.ts'

export interface FilesPluginOptions {
  /** Clock of the cleanup job and of URL expiry (tests inject one). @default () => new Date() */
  now?: () => Date
}

/** The files service: what dependents (tickets attachments) get as `ctx.deps.<key>`, and `app.service(files)`. */
export interface FilesProvided {
  service: FilesService
  storage: Storage['driver']
  config: FilesConfig
}

declare module '../../core/index.ts' {
  interface EventMap {
    'file.uploaded': { file: FileView; owner_id: string }
    /** `org_id` only for an organization's file. */
    'file.deleted': { id: string; owner_id: string; key: string; org_id?: string }
  }
}

export { objectKey, safeFilename } from './keys.ts'
export { loadSigningSecret } from './storage/signing.ts'
export type { FilesService, FileView } from './service.ts'
export type { StorageDriver } from './storage/types.ts'

export function createFilesPlugin(options: FilesPluginOptions = {}) {
  const now = options.now ?? (() => new Date())

  return definePlugin({
    name: 'files',
    // Installed: an upload made with X-Organization-ID belongs to that organization (docs/plugins/files.md#organizations).
    optionalDependsOn: { organizations: optional<OrganizationsPort>('organizations') },
    tag: { name: 'Files', description: 'File uploads and downloads through presigned URLs' },
    config: filesConfig,
    migrations: new URL('./migrations/', import.meta.url),
    // Signed local uploads of any type (text/csv, JSON files) are files, not JSON request bodies.
    uploadPaths: ['/public/files/'],
    // Loaded when the doctor runs: it needs the AWS SDK, which a server on local storage never loads.
    doctor: async (c) => (await import('./doctor.ts')).filesDoctor(c),
    setup: async (ctx) => {
      const { config, logger } = ctx
      const storage = await createStorage(ctx, now)
      const service = createFilesService({
        sql: ctx.sql,
        storage: storage.driver,
        events: ctx.events,
        meter: ctx.meter,
        logger,
        maxUploadBytes: ctx.core.maxUploadBytes,
        allowedTypes: config.allowedTypes,
        urlTtlSeconds: config.urlTtlSeconds,
        pendingTtlHours: config.pendingTtlHours,
        now,
      })
      const provided: FilesProvided = { service, storage: storage.driver, config }
      // A deleted organization's files go with it, durably (docs/plugins/files.md#organizations).
      if (ctx.deps.organizations) subscribeOrgCleanup(ctx.jobs, service, logger)
      const local = storage.local
      return {
        service: provided,
        routes: {
          app: (r) => fileRoutes(r, service),
          // The local driver serves its signed URLs itself; with S3 the store does and this zone is empty.
          public: ({ router }) => (local ? localFileRoutes(router, local) : router('/files')),
        },
        jobs: {
          'files.cleanup-pending': async () => {
            const removed = await service.cleanupPending()
            if (removed) logger.info('pending uploads removed', { count: removed })
          },
        },
        schedules: [{ job: 'files.cleanup-pending', cron: '23 * * * *' }],
        stop: () => storage.driver.close?.(),
      }
    },
  })
}

export default createFilesPlugin()

/** Files: presigned uploads and downloads on S3 or local disk, confirmed against the store (seed 004 "Files", SPEC §9). */
import { definePlugin, type PluginContext, type Sql } from '../../core/index.ts'
import { checkFilesConfig, createStorage, filesConfig, type FilesConfig, type Storage } from './config.ts'
import { fileRoutes, localFileRoutes } from './routes.ts'
import { createFilesService, type FilesService, type FileView } from './service.ts'

export interface FilesPluginOptions {
  /** Clock of the cleanup job and of URL expiry (tests inject one). @default () => new Date() */
  now?: () => Date
}

/** What dependents (tickets attachments) get from `ctx.use('files')`. */
export interface FilesProvided {
  service: FilesService
  storage: Storage['driver']
  config: FilesConfig
}

declare module '../../core/plugin/types.ts' {
  interface PluginServices {
    files: FilesProvided
  }
}

declare module '../../core/events/types.ts' {
  interface EventMap {
    'file.uploaded': { file: FileView; owner_id: string }
    'file.deleted': { id: string; owner_id: string; key: string }
  }
}

export { objectKey, safeFilename } from './keys.ts'
export type { FilesService, FileView } from './service.ts'
export type { StorageDriver } from './storage/types.ts'

export function createFilesPlugin(options: FilesPluginOptions = {}) {
  const now = options.now ?? (() => new Date())
  // One storage and service per app (route factories run once per version; tests build many apps).
  const states = new WeakMap<Sql, { storage: Storage; service: FilesService }>()
  const stateOf = (ctx: PluginContext<FilesConfig>) => {
    let s = states.get(ctx.sql)
    if (!s) {
      const storage = createStorage(ctx, now)
      const service = createFilesService({
        sql: ctx.sql,
        storage: storage.driver,
        events: ctx.events,
        meter: ctx.meter,
        logger: ctx.logger,
        maxUploadBytes: ctx.core.maxUploadBytes,
        allowedTypes: ctx.config.allowedTypes,
        urlTtlSeconds: ctx.config.urlTtlSeconds,
        pendingTtlHours: ctx.config.pendingTtlHours,
        now,
      })
      states.set(ctx.sql, (s = { storage, service }))
    }
    return s
  }

  return definePlugin({
    name: 'files',
    tag: { name: 'Files', description: 'File uploads and downloads through presigned URLs' },
    config: filesConfig,
    migrations: new URL('./migrations/', import.meta.url),
    provides: (ctx): FilesProvided => {
      checkFilesConfig(ctx.config)
      const s = stateOf(ctx)
      return { service: s.service, storage: s.storage.driver, config: ctx.config }
    },
    app: (ctx) => fileRoutes(ctx, stateOf(ctx).service),
    // The local driver serves its signed URLs itself; with S3 the store does and this zone is empty.
    public: (ctx) => {
      const local = stateOf(ctx).storage.local
      return local ? localFileRoutes(ctx.router, local) : ctx.router('/files')
    },
    jobs: {
      'files.cleanup-pending': (ctx) => async () => {
        const removed = await stateOf(ctx).service.cleanupPending()
        if (removed) ctx.logger.info('pending uploads removed', { count: removed })
      },
    },
    schedules: [{ job: 'files.cleanup-pending', cron: '23 * * * *' }],
    // Signed local uploads of any type (text/csv, JSON files) are files, not JSON request bodies.
    uploadPaths: ['/public/files/'],
    stop: (ctx) => {
      states.get(ctx.sql)?.storage.driver.close?.()
      states.delete(ctx.sql)
    },
  })
}

export default createFilesPlugin()

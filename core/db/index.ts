/** Database access: postgres.js on PostgreSQL or embedded PGlite, and SQL migrations (docs/data.md). */
export { openDatabase, describeUrl, type Database, type OpenDatabaseOptions, type Sql } from './client.ts'
export { migrate, listMigrationFiles, type MigrationFile, type MigrationSource } from './migrate.ts'
export { isUuid } from './uuid.ts'
export { notePage, notedPage, type PageInfo } from './page-info.ts'
export { openEmbedded } from './embedded.ts'
export {
  paged,
  encodeCursor,
  decodeCursor,
  COUNT_CAP,
  type Paged,
  type PagedQuery,
  type PagedSpec,
  type SqlFragment,
} from './paged.ts'
export { traceSql } from './traced.ts'

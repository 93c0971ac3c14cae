/** Database access: postgres.js on PostgreSQL or embedded PGlite, and SQL migrations (SPEC §8). */
export { openDatabase, describeUrl, type Database, type OpenDatabaseOptions, type Sql } from './client.ts'
export { migrate, listMigrationFiles, type MigrationFile, type MigrationSource } from './migrate.ts'

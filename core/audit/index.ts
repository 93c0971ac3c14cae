/** Audit log and dashboard statistics: core services the admin plugin reads and every plugin may write. */
export {
  createAuditLog,
  type AuditEntry,
  type AuditInput,
  type AuditLog,
  type AuditQuery,
  type AuditRequest,
  type Queryable,
} from './log.ts'
export {
  createStatsRegistry,
  merge as mergeStats,
  type StatsContributor,
  type StatsRegistry,
  type StatsSection,
} from './stats.ts'

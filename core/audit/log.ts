/** The audit log (docs/auth.md#audit-log): append-only entries, written in the transaction of the change they record. */
import type postgres from 'postgres'
import type { Principal } from '../auth/index.ts'
import { paged, type Paged, type Sql } from '../db/index.ts'
import type { RequestState } from '../http/index.ts'
import type { Logger } from '../observability/index.ts'

/** `sql` or the `tx` of `sql.begin(tx => ...)`: on PGlite only `tx` may be used inside a transaction. */
export type Queryable = Sql | postgres.TransactionSql<{}>

export interface AuditInput {
  /** Who acted: the user, or the admin behind an impersonation. */
  actor_id: string | null
  /** `<resource>.<verb>`: `user.deactivate`, `api_key.create`, `impersonate.start` ... */
  action: string
  resource_type?: string | null
  resource_id?: string | null
  details?: Record<string, unknown>
  ip_address?: string | null
  request_id?: string | null
}

export interface AuditEntry {
  id: string
  actor_id: string | null
  action: string
  resource_type: string | null
  resource_id: string | null
  details: Record<string, unknown>
  ip_address: string | null
  request_id: string | null
  created_at: Date
}

export interface AuditQuery {
  actor_id?: string
  action?: string
  resource_type?: string
  resource_id?: string
  skip: number
  limit: number
  /** Cursor from a previous page's next_after (core/db/paged.ts). */
  after?: string
}

/** What a route handler knows about its request (the router's context). */
export interface AuditRequest {
  principal: Principal
  requestId: string
  clientIp: string
}

export interface AuditLog {
  /** Writes one entry; pass the transaction's `tx` so the entry commits (or not) with the change. */
  record(entry: AuditInput, tx?: Queryable): Promise<AuditEntry>
  /** Actor, ip and request id of a handler's request; under impersonation the actor is the admin. */
  from(
    request: AuditRequest,
  ): Pick<AuditInput, 'actor_id' | 'ip_address' | 'request_id'> & { details: Record<string, unknown> }
  /** Newest first, id as tie-break. */
  list(query: AuditQuery): Promise<Paged<AuditEntry>>
  /** The pipeline calls this after each response made under impersonation (actor and target, method, path, status). */
  impersonatedRequest(state: RequestState, method: string): void
  /** Resolves once the request entries written in the background are stored (tests, shutdown). */
  flush(): Promise<void>
}

const COLUMNS = 'id, actor_id, action, resource_type, resource_id, details, ip_address, request_id, created_at'

export function createAuditLog(options: { sql: Sql; logger: Logger }): AuditLog {
  const { sql, logger } = options
  const pending = new Set<Promise<unknown>>()

  const record = async (e: AuditInput, tx: Queryable = sql): Promise<AuditEntry> => {
    const db = tx as Sql
    const [row] = await db<AuditEntry[]>`
      insert into audit_logs (actor_id, action, resource_type, resource_id, details, ip_address, request_id)
      values (${e.actor_id}, ${e.action}, ${e.resource_type ?? null}, ${e.resource_id ?? null},
              ${db.json((e.details ?? {}) as Parameters<Sql['json']>[0])}, ${e.ip_address ?? null}, ${e.request_id ?? null})
      returning ${db.unsafe(COLUMNS)}`
    return row!
  }

  return {
    record,
    from({ principal, requestId, clientIp }) {
      const details: Record<string, unknown> = principal.actorId ? { on_behalf_of: principal.user.id } : {}
      // A change made with an API key names the key (docs/auth.md#audit-log): whose key it is
      // shows in actor_id, which key in details.api_key_id.
      if (principal.kind === 'api_key' && principal.credentialId) details.api_key_id = principal.credentialId
      return {
        actor_id: principal.actorId ?? principal.user.id,
        ip_address: clientIp,
        request_id: requestId,
        details,
      }
    },
    async list(query) {
      const { actor_id, action, resource_type, resource_id } = query
      const where = sql`true
        ${actor_id ? sql`and actor_id = ${actor_id}` : sql``}
        ${action ? sql`and action = ${action}` : sql``}
        ${resource_type ? sql`and resource_type = ${resource_type}` : sql``}
        ${resource_id ? sql`and resource_id = ${resource_id}` : sql``}`
      // Served by audit_logs_created_idx and the (actor | action | resource, created_at desc, id desc) indexes.
      return paged<AuditEntry>(sql, { table: 'audit_logs', columns: sql.unsafe(COLUMNS), where }, query)
    },
    impersonatedRequest(s, method) {
      const p = s.principal
      if (!p?.actorId) return
      const write = record({
        actor_id: p.actorId,
        action: 'impersonate.request',
        resource_type: 'user',
        resource_id: p.user.id,
        details: { method, path: s.path, status: s.status, impersonation_id: p.credentialId ?? null },
        ip_address: s.ip,
        request_id: s.id,
      }).catch((err) =>
        logger.error('audit entry for an impersonated request failed', { request_id: s.id, error: err }),
      )
      pending.add(write)
      void write.finally(() => pending.delete(write))
    },
    async flush() {
      // Elysia runs after-response hooks on a later turn (setImmediate): let those of answered requests start.
      await new Promise((resolve) => setTimeout(resolve, 1))
      while (pending.size) await Promise.all([...pending])
    },
  }
}

/** The inbound-event pipeline for every provider (billing, identity): verified event -> stored with its effect in one transaction -> applied once. */
import { isUuid, paged, type Sql } from '../db/index.ts'
import { AppError, badRequest, conflict, notFound } from '../errors/index.ts'
import type { JobQueue } from '../jobs/index.ts'
import type { Logger } from '../observability/index.ts'
import { maskSecrets } from './mask.ts'
import {
  RETRY_JOB,
  type Applier,
  type InboundEvent,
  type InboundPipeline,
  type InboundStatus,
  type Outcome,
  type Preparer,
  type ReceiveResult,
  type StoredEvent,
  type Tx,
} from './types.ts'

const LIST_COLUMNS =
  'id, provider, event_id, type, status, subject, user_id, environment, occurred_at, note, error, attempts, received_at, processed_at'

export function createInboundPipeline(deps: { sql: Sql; jobs: JobQueue; logger: Logger }): InboundPipeline {
  const { sql, jobs, logger } = deps
  const appliers = new Map<string, Applier>()
  const preparers = new Map<string, Preparer>()
  /** Rows being applied right now: applyPending, called from an applier that links a customer, skips them. */
  const inProgress = new Set<string>()

  const applierOf = (provider: string) => {
    const a = appliers.get(provider)
    if (!a) throw new Error(`no applier registered for provider ${provider}`)
    return a
  }

  /** Applies a stored row and records the outcome, inside tx. */
  const applyRow = async (row: StoredEvent, tx: Tx) => {
    inProgress.add(row.id)
    let outcome: Outcome
    try {
      outcome = await applierOf(row.provider)(row, tx)
    } finally {
      inProgress.delete(row.id)
    }
    await tx`
      update inbound_events set status = ${outcome.status}, user_id = ${outcome.userId ?? row.user_id},
        subject = ${outcome.subject ?? row.subject}, note = ${outcome.note ?? null}, error = null,
        attempts = attempts + 1, processed_at = now()
      where id = ${row.id}`
    return outcome
  }

  const runAfter = (after: (() => unknown)[]) => {
    for (const fn of after) {
      Promise.resolve()
        .then(fn)
        .catch((err) => logger.error('inbound event follow-up failed', { error: err }))
    }
  }

  /** Keeps the event as failed (unless a concurrent delivery applied it); returns its id when stored. */
  const storeFailed = async (e: InboundEvent, err: unknown) => {
    const error = maskSecrets(err)
    const rows = await sql<{ id: string }[]>`
      insert into inbound_events (provider, event_id, type, status, subject, environment, occurred_at, payload, error, attempts, processed_at)
      values (${e.provider}, ${e.eventId}, ${e.type}, 'failed', ${e.subject ?? null}, ${e.environment ?? null},
              ${e.occurredAt ?? null}, ${sql.json(e.payload as never)}, ${error}, 1, now())
      on conflict (provider, event_id) do update set status = 'failed', error = excluded.error,
        attempts = inbound_events.attempts + 1, processed_at = now()
      where inbound_events.status = 'failed'
      returning id`
    return rows[0]?.id
  }

  /** The effect rolled back: keep the event as failed and schedule a retry. */
  const recordFailure = async (e: InboundEvent, err: unknown) => {
    logger.error('inbound event could not be applied', {
      provider: e.provider,
      event_id: e.eventId,
      type: e.type,
      error: err,
    })
    const id = await storeFailed(e, err)
    if (id) await scheduleRetry(id)
  }

  const scheduleRetry = (id: string) =>
    jobs.enqueue(
      RETRY_JOB,
      { id },
      { uniqueKey: id, runAt: new Date(Date.now() + 30_000), maxAttempts: 8, backoffMs: 30_000 },
    )

  const get = async (id: string, tx: Sql | Tx = sql) => {
    if (!isUuid(id)) throw notFound('Inbound event', id)
    const [row] = await (tx as Sql)<StoredEvent[]>`select * from inbound_events where id = ${id}`
    if (!row) throw notFound('Inbound event', id)
    return row
  }

  const failed = (e: { provider: string; eventId: string }) =>
    new AppError('INTERNAL_ERROR', 'The event could not be applied; it is stored and will be retried', {
      provider: e.provider,
      event_id: e.eventId,
    })

  /** Prepares a delivery unless it was received (and not failed) before: duplicates cost no outbound call. */
  const prepareDelivery = async (e: InboundEvent): Promise<InboundEvent | ReceiveResult> => {
    const prepare = preparers.get(e.provider)
    if (!prepare) return e
    const [seen] = await sql<{ id: string; status: InboundStatus }[]>`
      select id, status from inbound_events where provider = ${e.provider} and event_id = ${e.eventId}`
    if (seen && seen.status !== 'failed') return { id: seen.id, status: seen.status, duplicate: true, note: null }
    try {
      return { ...e, payload: await prepare(e.payload, e) }
    } catch (err) {
      await recordFailure(e, err).catch((inner) =>
        logger.error('storing a failed inbound event failed', {
          provider: e.provider,
          event_id: e.eventId,
          error: inner,
        }),
      )
      throw failed(e)
    }
  }

  /** A verified event whose content cannot be used: stored rejected once, never applied nor retried. */
  const reject = async (e: InboundEvent, reason: unknown) => {
    const error = maskSecrets(reason)
    logger.warn('inbound event rejected: its content cannot be used', {
      provider: e.provider,
      event_id: e.eventId,
      type: e.type,
      error,
    })
    // payload is `not null`: a JSON null (a signed body of `null`) is kept wrapped.
    const payload = e.payload === null || e.payload === undefined ? { value: null } : e.payload
    await sql`
      insert into inbound_events (provider, event_id, type, status, subject, environment, occurred_at, payload, error, attempts, processed_at)
      values (${e.provider}, ${e.eventId}, ${e.type}, 'rejected', ${e.subject ?? null}, ${e.environment ?? null},
              ${e.occurredAt ?? null}, ${sql.json(payload as never)}, ${error}, 1, now())
      on conflict (provider, event_id) do update set attempts = inbound_events.attempts + 1, processed_at = now()
      where inbound_events.status = 'rejected'`
  }

  return {
    register(provider, applier, options) {
      appliers.set(provider, applier)
      if (options?.prepare) preparers.set(provider, options.prepare)
      else preparers.delete(provider)
    },

    providers: () => [...appliers.keys()],

    async receive(delivery) {
      applierOf(delivery.provider)
      if (delivery.malformed) {
        const { field, message } = delivery.malformed
        await reject(delivery, `${field}: ${message}`)
        throw badRequest(`Malformed ${delivery.provider} event: ${field} ${message}`, {
          provider: delivery.provider,
          field,
        })
      }
      const prepared = await prepareDelivery(delivery)
      if (!('provider' in prepared)) return prepared
      const e = prepared
      let after: (() => unknown)[] = []
      let result: ReceiveResult
      try {
        result = await sql.begin(async (tx) => {
          const [inserted] = await tx<StoredEvent[]>`
            insert into inbound_events (provider, event_id, type, status, subject, environment, occurred_at, payload)
            values (${e.provider}, ${e.eventId}, ${e.type}, 'failed', ${e.subject ?? null}, ${e.environment ?? null},
                    ${e.occurredAt ?? null}, ${tx.json(e.payload as never)})
            on conflict (provider, event_id) do nothing
            returning *`
          let row = inserted
          if (!row) {
            // Received before (or right now by another replica, whose insert we waited for).
            const [existing] = await tx<StoredEvent[]>`
              select * from inbound_events where provider = ${e.provider} and event_id = ${e.eventId} for update`
            if (existing!.status !== 'failed')
              return { id: existing!.id, status: existing!.status, duplicate: true, note: null }
            row = existing!
            if (preparers.has(e.provider)) {
              // A redelivery of a failed event: apply (and keep) what was prepared just now.
              await tx`update inbound_events set payload = ${tx.json(e.payload as never)} where id = ${row.id}`
              row = { ...row, payload: e.payload }
            }
          }
          const outcome = await applyRow(row, tx)
          if (outcome.after) after = [outcome.after]
          return { id: row.id, status: outcome.status, duplicate: false, note: outcome.note ?? null }
        })
      } catch (err) {
        await recordFailure(e, err).catch((inner) =>
          logger.error('storing a failed inbound event failed', {
            provider: e.provider,
            event_id: e.eventId,
            error: inner,
          }),
        )
        throw failed(e)
      }
      runAfter(after)
      return result
    },

    reject,

    async retry(id) {
      const after: (() => unknown)[] = []
      const replayable = (row: StoredEvent) => {
        if (row.status !== 'failed' && row.status !== 'unmatched')
          throw conflict(`Only failed or unmatched events can be replayed; this one is ${row.status}`, {
            status: row.status,
          })
      }
      /** Set while the preparer runs: whatever it throws (an upstream 502 too) is a failure to record. */
      let preparing = false
      try {
        let prepared: { payload: unknown } | undefined
        const current = await get(id)
        const prepare = preparers.get(current.provider)
        if (prepare) {
          replayable(current)
          preparing = true
          prepared = {
            payload: await prepare(current.payload, {
              provider: current.provider,
              eventId: current.event_id,
              type: current.type,
            }),
          }
          preparing = false
        }
        await sql.begin(async (tx) => {
          let [row] = await tx<StoredEvent[]>`select * from inbound_events where id = ${id} for update`
          if (!row) throw notFound('Inbound event', id)
          replayable(row)
          if (prepared) {
            await tx`update inbound_events set payload = ${tx.json(prepared.payload as never)} where id = ${id}`
            row = { ...row, payload: prepared.payload }
          }
          const outcome = await applyRow(row, tx)
          if (outcome.after) after.push(outcome.after)
        })
      } catch (err) {
        if (err instanceof AppError && !preparing) throw err
        const error = maskSecrets(err)
        logger.error('inbound event retry failed', { id, error: err })
        await sql`update inbound_events set status = 'failed', error = ${error}, attempts = attempts + 1, processed_at = now() where id = ${id} and status = 'failed'`
        throw new AppError('INTERNAL_ERROR', 'The event could not be applied; it stays failed', { id })
      }
      runAfter(after)
      return get(id)
    },

    async applyPending(provider, subject, tx) {
      const rows = await tx<StoredEvent[]>`
        select * from inbound_events where provider = ${provider} and subject = ${subject} and status = 'unmatched'
        order by occurred_at asc nulls first, received_at asc, id asc for update`
      const after: (() => unknown)[] = []
      let applied = 0
      for (const row of rows) {
        if (inProgress.has(row.id)) continue
        const outcome = await applyRow(row, tx)
        if (outcome.status === 'applied') applied++
        if (outcome.after) after.push(outcome.after)
      }
      return { applied, after }
    },

    async list(query) {
      const { provider, type, status } = query
      const where = sql`true
        ${provider ? sql`and provider = ${provider}` : sql``}
        ${type ? sql`and type = ${type}` : sql``}
        ${status ? sql`and status = ${status}` : sql``}`
      // Newest received first; served by the inbound_events_*_idx (..., received_at desc, id desc) indexes.
      return paged<Omit<StoredEvent, 'payload'>>(
        sql,
        { table: 'inbound_events', columns: sql.unsafe(LIST_COLUMNS), where, sortKey: 'received_at' },
        query,
      )
    },

    get: (id) => get(id),

    async stats() {
      const [row] = await sql<{ total: number; failed: number; pending: number }[]>`
        select count(*)::int as total,
               count(*) filter (where status = 'failed')::int as failed,
               count(*) filter (where status = 'unmatched')::int as pending
        from inbound_events`
      return row!
    },
  }
}

/**
 * How a change of a live ticket is recorded and announced (docs/plugins/tickets.md#lifecycle): the
 * ticket is locked in a transaction, the change and its activity row are written in it, and
 * `ticket.updated` names what changed once the transaction has committed. Editing, assigning,
 * closing and reopening all go through here.
 */
import type { Principal, Queryable } from '../../core/index.ts'
import type { TicketBase } from './ticket-base.ts'
import type { TicketRow } from './ticket-row.ts'

/** What a change wrote: the updated row, the activity's `changes`, and the fields it announces. */
export interface Changed {
  row: TicketRow
  /** The activity row's `changes` (`{field: {from, to}}` and the like). */
  changes: Record<string, unknown>
  /** The fields `ticket.updated` names; default: the keys of `changes`. */
  changed?: string[]
}

/** Applies a change to the locked ticket `cur`; undefined when nothing changed (no activity). */
export type Change = (cur: TicketRow, tx: Queryable) => Promise<Changed | undefined>

type Parts = Pick<TicketBase, 'sql' | 'load' | 'activity' | 'view' | 'publish'>

export function createAnnounce(b: Parts) {
  const { sql, load, activity, view, publish } = b

  /** The view of a changed row, announced (after the commit) when something changed. */
  const announceUpdate = async (p: Principal, row: TicketRow, changed: string[]) => {
    const ticket = view(row)
    if (changed.length) await publish('ticket.updated', { ticket, changed, actor_id: p.user.id })
    return ticket
  }

  /** Changes the live ticket `ref` as `p` may see it, recording `action` in its activity log. */
  const changeTicket = async (p: Principal, ref: string, action: string, change: Change) => {
    const result = await sql.begin(async (tx) => {
      const cur = await load(p, ref, tx, true)
      const done = await change(cur, tx)
      if (!done) return { row: cur, changed: [] as string[] }
      await activity(tx, cur.id, p.user.id, action, done.changes)
      return { row: done.row, changed: done.changed ?? Object.keys(done.changes) }
    })
    return announceUpdate(p, result.row, result.changed)
  }

  return { changeTicket }
}

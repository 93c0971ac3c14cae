/** Subscription state: one record per user and source, changed only by newer provider events; the user's plan derived from all sources. */
import type { Sql, SqlFragment } from '../../core/index.ts'
import type { InboundTx as Tx } from '../../core/index.ts'

export type Source = 'stripe' | 'apple' | 'google'
export const SOURCES: readonly Source[] = ['stripe', 'apple', 'google']

/** Statuses that grant the paid plan (Stripe active/trialing, a store's grace period). */
export const ACTIVE_STATUSES = ['active', 'trialing', 'in_grace_period'] as const
export const isActive = (status: string | null | undefined) =>
  (ACTIVE_STATUSES as readonly string[]).includes(status ?? '')

export interface SubscriptionRow {
  id: string
  user_id: string
  source: Source
  external_id: string
  product_id: string | null
  plan: string
  status: string
  current_period_end: Date | null
  cancel_at_period_end: boolean
  environment: string | null
  last_event_at: Date
  created_at: Date
  updated_at: Date
}

/** The full state of one subscription as a provider reported it at `at`. */
export interface SubscriptionState {
  userId: string
  source: Source
  /** sub_..., Apple originalTransactionId, Google purchaseToken. */
  externalId: string
  /** Provider time of the event this state comes from. */
  at: Date
  productId: string | null
  plan: string
  status: string
  /** Unknown (null) keeps the stored value for the same subscription (Google notifications carry none). */
  currentPeriodEnd: Date | null
  cancelAtPeriodEnd: boolean
  environment?: string | null
}

/** Fields a partial event changes (an invoice paid, auto-renew turned off). */
export type SubscriptionPatch = Pick<SubscriptionState, 'source' | 'externalId' | 'at'> &
  Partial<Pick<SubscriptionState, 'status' | 'cancelAtPeriodEnd' | 'currentPeriodEnd'>> & {
    /** Only when the stored status is one of these (an invoice paid after a cancellation changes nothing). */
    fromStatuses?: readonly string[]
  }

/** What GET /app/billing/status and the users' profile fields show. */
export interface DerivedState {
  plan: string
  status: string | null
  current_period_end: Date | null
  cancel_at_period_end: boolean
  has_active_subscription: boolean
  source: Source | null
}

type Db = Sql | Tx
const ACTIVE_SQL = ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')

export function createSubscriptionStore(sql: Sql) {
  return {
    /**
     * Stores `s` unless the record holds a newer event, or holds another subscription that is
     * active while `s` is not (a late event about an old subscription never replaces the live one).
     * Returns the row when applied, undefined when the event was stale.
     */
    async put(s: SubscriptionState, tx: Db): Promise<SubscriptionRow | undefined> {
      const db = tx as Sql
      const [row] = await db<SubscriptionRow[]>`
        insert into billing_subscriptions as s
          (user_id, source, external_id, product_id, plan, status, current_period_end, cancel_at_period_end, environment, last_event_at)
        values (${s.userId}, ${s.source}, ${s.externalId}, ${s.productId}, ${s.plan}, ${s.status}, ${s.currentPeriodEnd},
                ${s.cancelAtPeriodEnd}, ${s.environment ?? null}, ${s.at})
        on conflict (user_id, source) do update set
          external_id = excluded.external_id,
          product_id = coalesce(excluded.product_id, case when s.external_id = excluded.external_id then s.product_id end),
          plan = excluded.plan,
          status = excluded.status,
          current_period_end = coalesce(excluded.current_period_end, case when s.external_id = excluded.external_id then s.current_period_end end),
          cancel_at_period_end = excluded.cancel_at_period_end,
          environment = coalesce(excluded.environment, s.environment),
          last_event_at = excluded.last_event_at,
          updated_at = now()
        where s.last_event_at <= excluded.last_event_at
          and (s.external_id = excluded.external_id or s.status not in (${db.unsafe(ACTIVE_SQL)}) or excluded.status in (${db.unsafe(ACTIVE_SQL)}))
        returning *`
      return row
    },

    /** Changes some fields of the stored subscription `externalId`, if this event is not older than its state. */
    async patch(p: SubscriptionPatch, tx: Db): Promise<SubscriptionRow | undefined> {
      const db = tx as Sql
      const [row] = await db<SubscriptionRow[]>`
        update billing_subscriptions set
          status = coalesce(${p.status ?? null}, status),
          cancel_at_period_end = coalesce(${p.cancelAtPeriodEnd ?? null}, cancel_at_period_end),
          current_period_end = coalesce(${p.currentPeriodEnd ?? null}, current_period_end),
          last_event_at = ${p.at}, updated_at = now()
        where source = ${p.source} and external_id = ${p.externalId} and last_event_at <= ${p.at}
          ${p.fromStatuses ? db`and status = any(${[...p.fromStatuses]}::text[])` : db``}
        returning *`
      return row
    },

    async ofUser(userId: string, tx: Db = sql): Promise<SubscriptionRow[]> {
      return (tx as Sql)<
        SubscriptionRow[]
      >`select * from billing_subscriptions where user_id = ${userId} order by source`
    },

    async byExternal(source: Source, externalId: string, tx: Db = sql): Promise<SubscriptionRow | undefined> {
      const [row] = await (tx as Sql)<SubscriptionRow[]>`
        select * from billing_subscriptions where source = ${source} and external_id = ${externalId}
        order by last_event_at desc limit 1`
      return row
    },

    /** Derived state of many users at once (profile fields of user lists). */
    async derivedMany(ids: string[]): Promise<Record<string, DerivedState>> {
      const rows = await sql<SubscriptionRow[]>`select * from billing_subscriptions where user_id in ${sql(ids)}`
      const out: Record<string, DerivedState> = {}
      for (const id of ids) out[id] = derive(rows.filter((r) => r.user_id === id))
      return out
    },

    /** Dashboard section `subscriptions`: users with an active subscription, users per derived plan. */
    async stats(people: SqlFragment = sql`true`) {
      const rows = await sql<{ plan: string; n: number }[]>`
        with best as (
          select distinct on (user_id) user_id, plan from billing_subscriptions
          where status in (${sql.unsafe(ACTIVE_SQL)})
          order by user_id, current_period_end desc nulls first, last_event_at desc)
        select plan, count(*)::int as n from best group by plan`
      const [{ users }] = (await sql<
        { users: number }[]
      >`select count(*)::int as users from users where ${people}`) as unknown as [{ users: number }]
      const active = rows.reduce((sum, r) => sum + r.n, 0)
      const by_plan: Record<string, number> = { free: Math.max(0, users - active) }
      for (const r of rows) by_plan[r.plan] = (by_plan[r.plan] ?? 0) + r.n
      return { active, by_plan }
    },
  }
}

export type SubscriptionStore = ReturnType<typeof createSubscriptionStore>

/**
 * An active subscription on any store wins (the one running longest); with none, the plan is
 * `free` and the status is that of the most recently changed record (null without any).
 */
export function derive(rows: SubscriptionRow[]): DerivedState {
  const active = rows.filter((r) => isActive(r.status))
  if (active.length) {
    const end = (r: SubscriptionRow) =>
      r.current_period_end ? r.current_period_end.getTime() : Number.POSITIVE_INFINITY
    const best = active.sort((a, b) => end(b) - end(a) || b.last_event_at.getTime() - a.last_event_at.getTime())[0]!
    return {
      plan: best.plan,
      status: best.status === 'trialing' ? 'trialing' : 'active',
      current_period_end: best.current_period_end,
      cancel_at_period_end: best.cancel_at_period_end,
      has_active_subscription: true,
      source: best.source,
    }
  }
  const latest = [...rows].sort((a, b) => b.last_event_at.getTime() - a.last_event_at.getTime())[0]
  return {
    plan: 'free',
    status: latest?.status ?? null,
    current_period_end: latest?.current_period_end ?? null,
    cancel_at_period_end: false,
    has_active_subscription: false,
    source: latest?.source ?? null,
  }
}

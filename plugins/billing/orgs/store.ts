/** Organization billing records: the org's Stripe customer and its subscription (docs/plugins/billing.md#organizations-and-seats). */
import type { InboundTx as Tx, Sql } from '../../../core/index.ts'
import { derive, type DerivedState, type SubscriptionRow, type SubscriptionState } from '../subscriptions.ts'

type Db = Sql | Tx

/** Statuses of a subscription that is over: nothing to cancel, resume or re-seat. */
export const ENDED_STATUSES: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired'])

/** The organization's subscription: a user's subscription record held by an organization, with its seat item. */
export type OrgSubscriptionRow = Omit<SubscriptionRow, 'id' | 'user_id' | 'source' | 'created_at' | 'updated_at'> & {
  org_id: string
  item_id: string | null
  quantity: number | null
}

/** A subscription state held by an organization: the user id field carries the org id, plus the seat item. */
export type OrgSubscriptionState = Omit<SubscriptionState, 'userId'> & {
  orgId: string
  itemId: string | null
  quantity: number | null
}

/** The derived plan of an organization, as a user's is derived (an active subscription grants its plan). */
export const deriveOrg = (row: OrgSubscriptionRow | undefined): DerivedState =>
  derive(row ? [{ ...row, user_id: row.org_id, source: 'stripe' } as unknown as SubscriptionRow] : [])

export function createOrgStore(sql: Sql) {
  return {
    async customerOf(orgId: string, db: Db = sql): Promise<string | null> {
      const [row] = await (db as Sql)<{ stripe_customer_id: string | null }[]>`
        select stripe_customer_id from billing_org_accounts where org_id = ${orgId}`
      return row?.stripe_customer_id ?? null
    },

    /** Records the org's Stripe customer; the first one stored stays. */
    async setCustomer(orgId: string, customerId: string, db: Db = sql): Promise<string> {
      const [row] = await (db as Sql)<{ stripe_customer_id: string }[]>`
        insert into billing_org_accounts (org_id, stripe_customer_id) values (${orgId}, ${customerId})
        on conflict (org_id) do update set
          stripe_customer_id = coalesce(billing_org_accounts.stripe_customer_id, excluded.stripe_customer_id), updated_at = now()
        returning stripe_customer_id`
      return row!.stripe_customer_id
    },

    async orgOfCustomer(customerId: string, db: Db = sql): Promise<string | undefined> {
      const [row] = await (db as Sql)<{ org_id: string }[]>`
        select org_id::text from billing_org_accounts where stripe_customer_id = ${customerId}`
      return row?.org_id
    },

    async subscriptionOf(orgId: string, db: Db = sql): Promise<OrgSubscriptionRow | undefined> {
      const [row] = await (db as Sql)<OrgSubscriptionRow[]>`
        select org_id::text, external_id, item_id, quantity, product_id, plan, status, current_period_end,
               cancel_at_period_end, environment, last_event_at
        from billing_org_subscriptions where org_id = ${orgId}`
      return row
    },

    /** Plans of many organizations at once (the plan resolver of a request). */
    async derivedOf(orgId: string): Promise<DerivedState> {
      return deriveOrg(await this.subscriptionOf(orgId))
    },

    /** A provisional record from a completed checkout; the subscription's own events override it. */
    async putProvisional(
      s: {
        orgId: string
        externalId: string
        productId: string | null
        plan: string
        status: string
        env: string | null
      },
      tx: Db,
    ) {
      await (tx as Sql)`
        insert into billing_org_subscriptions (org_id, external_id, product_id, plan, status, environment, last_event_at)
        values (${s.orgId}, ${s.externalId}, ${s.productId}, ${s.plan}, ${s.status}, ${s.env}, to_timestamp(0))
        on conflict (org_id) do nothing`
    },

    /** Stores `s` unless the record holds a newer event (the same rule as users' subscriptions). */
    async put(s: OrgSubscriptionState, tx: Db): Promise<OrgSubscriptionRow | undefined> {
      const [row] = await (tx as Sql)<OrgSubscriptionRow[]>`
        insert into billing_org_subscriptions as s
          (org_id, external_id, item_id, quantity, product_id, plan, status, current_period_end, cancel_at_period_end, environment, last_event_at)
        values (${s.orgId}, ${s.externalId}, ${s.itemId}, ${s.quantity}, ${s.productId}, ${s.plan}, ${s.status},
                ${s.currentPeriodEnd}, ${s.cancelAtPeriodEnd}, ${s.environment ?? null}, ${s.at})
        on conflict (org_id) do update set
          external_id = excluded.external_id,
          item_id = coalesce(excluded.item_id, s.item_id),
          quantity = coalesce(excluded.quantity, s.quantity),
          product_id = coalesce(excluded.product_id, s.product_id),
          plan = excluded.plan,
          status = excluded.status,
          current_period_end = coalesce(excluded.current_period_end, s.current_period_end),
          cancel_at_period_end = excluded.cancel_at_period_end,
          environment = coalesce(excluded.environment, s.environment),
          last_event_at = excluded.last_event_at,
          updated_at = now()
        where s.last_event_at <= excluded.last_event_at
        returning org_id::text, external_id, item_id, quantity, product_id, plan, status, current_period_end,
                  cancel_at_period_end, environment, last_event_at`
      return row
    },

    /**
     * Takes the org's seat lease for `ms` (one seat update at a time per organization, on every
     * replica); undefined when another worker holds it or the org has no subscription.
     */
    async lease(orgId: string, ms: number): Promise<OrgSubscriptionRow | undefined> {
      const [row] = await sql<OrgSubscriptionRow[]>`
        update billing_org_subscriptions set seat_lock_until = now() + ${ms} * interval '1 millisecond'
        where org_id = ${orgId} and (seat_lock_until is null or seat_lock_until < now())
        returning org_id::text, external_id, item_id, quantity, product_id, plan, status, current_period_end,
                  cancel_at_period_end, environment, last_event_at`
      return row
    },

    async release(orgId: string, quantity?: number) {
      await sql`
        update billing_org_subscriptions set seat_lock_until = null,
          quantity = coalesce(${quantity ?? null}::int, quantity), updated_at = now()
        where org_id = ${orgId}`
    },

    async exists(orgId: string): Promise<boolean> {
      const [row] = await sql`select 1 from billing_org_subscriptions where org_id = ${orgId}`
      return !!row
    },

    async forget(orgId: string) {
      await sql.begin(async (tx) => {
        await tx`delete from billing_org_subscriptions where org_id = ${orgId}`
        await tx`delete from billing_org_accounts where org_id = ${orgId}`
      })
    },
  }
}

export type OrgStore = ReturnType<typeof createOrgStore>

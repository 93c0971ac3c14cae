/** Who a provider's customer or purchase belongs to: Stripe customers, App Store appAccountTokens and linked mobile purchases. */
import { conflict, isUuid, type Sql } from '../../core/index.ts'
import type { InboundTx as Tx } from '../../core/index.ts'

type Db = Sql | Tx
export type Platform = 'apple' | 'google'

/** First key of the advisory locks taken here (the second is a hash of provider and subject). */
const LOCK_SPACE = 0x0b11

export interface MobileLink {
  platform: Platform
  purchase_token: string
  user_id: string
  product_id: string
  created_at: Date
}

export function createAccounts(sql: Sql) {
  const ensure = async (userId: string, db: Db = sql) => {
    await (db as Sql)`insert into billing_accounts (user_id) values (${userId}) on conflict (user_id) do nothing`
    const [row] = await (db as Sql)<{ stripe_customer_id: string | null; app_account_token: string }[]>`
      select stripe_customer_id, app_account_token from billing_accounts where user_id = ${userId}`
    return row!
  }

  return {
    /**
     * Serialises, until `db` commits, everything about one purchase or customer across replicas:
     * a notification looking for its user and the link call that provides it cannot miss each other.
     */
    async lock(provider: string, subject: string, db: Db) {
      await (db as Sql)`select pg_advisory_xact_lock(${LOCK_SPACE}, hashtext(${`${provider}:${subject}`}))`
    },

    /** The user's billing row, created on first use (it carries the appAccountToken). */
    ensure,

    async appAccountToken(userId: string): Promise<string> {
      return (await ensure(userId)).app_account_token
    },

    async stripeCustomerOf(userId: string): Promise<string | null> {
      const [row] = await sql<{ stripe_customer_id: string | null }[]>`
        select stripe_customer_id from billing_accounts where user_id = ${userId}`
      return row?.stripe_customer_id ?? null
    },

    /** Records the user's Stripe customer; the first one stored stays (the customer is created once). */
    async setStripeCustomer(userId: string, customerId: string, db: Db = sql): Promise<string> {
      const [row] = await (db as Sql)<{ stripe_customer_id: string }[]>`
        insert into billing_accounts (user_id, stripe_customer_id) values (${userId}, ${customerId})
        on conflict (user_id) do update set
          stripe_customer_id = coalesce(billing_accounts.stripe_customer_id, excluded.stripe_customer_id), updated_at = now()
        returning stripe_customer_id`
      return row!.stripe_customer_id
    },

    async userOfCustomer(customerId: string, db: Db = sql): Promise<string | undefined> {
      const [row] = await (db as Sql)<
        { user_id: string }[]
      >`select user_id from billing_accounts where stripe_customer_id = ${customerId}`
      return row?.user_id
    },

    async userOfAppAccountToken(token: string, db: Db = sql): Promise<string | undefined> {
      if (!isUuid(token)) return undefined
      const [row] = await (db as Sql)<
        { user_id: string }[]
      >`select user_id from billing_accounts where app_account_token = ${token}`
      return row?.user_id
    },

    async userExists(userId: string, db: Db = sql): Promise<boolean> {
      const [row] = await (db as Sql)`select 1 from users where id = ${userId}`
      return !!row
    },

    /** Links a purchase to the user; the same purchase linked to someone else is 409. */
    async link(
      input: { userId: string; platform: Platform; purchaseToken: string; productId: string },
      db: Db,
    ): Promise<MobileLink> {
      const d = db as Sql
      const [row] = await d<MobileLink[]>`
        insert into billing_mobile_links (platform, purchase_token, user_id, product_id)
        values (${input.platform}, ${input.purchaseToken}, ${input.userId}, ${input.productId})
        on conflict (platform, purchase_token) do update set product_id = excluded.product_id
        where billing_mobile_links.user_id = excluded.user_id
        returning *`
      if (!row) throw conflict('This purchase is linked to another account', { platform: input.platform })
      return row
    },

    async linkOf(platform: Platform, purchaseToken: string, db: Db = sql): Promise<MobileLink | undefined> {
      const [row] = await (db as Sql)<MobileLink[]>`
        select * from billing_mobile_links where platform = ${platform} and purchase_token = ${purchaseToken}`
      return row
    },
  }
}

export type Accounts = ReturnType<typeof createAccounts>

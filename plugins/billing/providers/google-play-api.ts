/**
 * The Play Developer API, for the two calls billing needs: purchases.subscriptionsv2.get (a
 * notification only names a purchase; this is its state and expiry) and
 * purchases.subscriptions.acknowledge (Google refunds an unacknowledged purchase after 3 days).
 * Authenticated as a service account: an RS256 JWT assertion exchanged for an access token.
 */
import { importPKCS8, SignJWT } from 'jose'
import { tracedFetch, type Logger } from '../../../core/index.ts'
import type { BillingConfig, ServiceAccountKey } from '../config.ts'

const SCOPE = 'https://www.googleapis.com/auth/androidpublisher'
const TIMEOUT_MS = 10_000
/** An access token is renewed this long before Google says it expires. */
const TOKEN_MARGIN_MS = 60_000

/** SubscriptionPurchaseV2, the fields billing reads (the API returns more). */
export interface PlaySubscription {
  kind?: string
  subscriptionState?: string
  latestOrderId?: string
  linkedPurchaseToken?: string
  acknowledgementState?: string
  testPurchase?: Record<string, never>
  externalAccountIdentifiers?: { obfuscatedExternalAccountId?: string; obfuscatedExternalProfileId?: string }
  lineItems?: { productId?: string; expiryTime?: string; autoRenewingPlan?: { autoRenewEnabled?: boolean } }[]
}

/** The API answered that it knows no such purchase (malformed, unknown, or expired too long ago): 400, 404, 410. */
export class PlayPurchaseUnknown extends Error {
  constructor(readonly httpStatus: number) {
    super(`Google Play knows no such purchase (HTTP ${httpStatus})`)
    this.name = 'PlayPurchaseUnknown'
  }
}

/** Anything else: Google unreachable, a 5xx, or a credential the API refuses. Retried by the caller. */
export class PlayApiError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PlayApiError'
  }
}

/** SubscriptionPurchaseV2.subscriptionState -> our status (CANCELED: canceled, still entitled until expiry). */
const STATES: Record<string, string> = {
  SUBSCRIPTION_STATE_PENDING: 'incomplete',
  SUBSCRIPTION_STATE_ACTIVE: 'active',
  SUBSCRIPTION_STATE_PAUSED: 'paused',
  SUBSCRIPTION_STATE_IN_GRACE_PERIOD: 'in_grace_period',
  SUBSCRIPTION_STATE_ON_HOLD: 'on_hold',
  SUBSCRIPTION_STATE_CANCELED: 'active',
  SUBSCRIPTION_STATE_EXPIRED: 'expired',
  SUBSCRIPTION_STATE_PENDING_PURCHASE_CANCELED: 'expired',
}

export interface PlayState {
  status: string
  productId: string | null
  currentPeriodEnd: Date | null
  cancelAtPeriodEnd: boolean
}

/** The state a purchase is in; undefined for a state we do not know (kept as it is). */
export function playState(p: PlaySubscription, now = Date.now()): PlayState | undefined {
  let status = STATES[p.subscriptionState ?? '']
  if (!status) return undefined
  const items = p.lineItems ?? []
  const expiries = items.map((i) => Date.parse(i.expiryTime ?? '')).filter(Number.isFinite)
  const currentPeriodEnd = expiries.length ? new Date(Math.max(...expiries)) : null
  // A canceled purchase past its expiry has ended even before Google flips it to EXPIRED.
  if (p.subscriptionState === 'SUBSCRIPTION_STATE_CANCELED' && currentPeriodEnd && currentPeriodEnd.getTime() <= now)
    status = 'expired'
  return {
    status,
    productId: items[0]?.productId ?? null,
    currentPeriodEnd,
    cancelAtPeriodEnd:
      status === 'active' &&
      (p.subscriptionState === 'SUBSCRIPTION_STATE_CANCELED' ||
        items.some((i) => i.autoRenewingPlan?.autoRenewEnabled === false)),
  }
}

export function createPlayApi(config: BillingConfig, logger: Logger) {
  const key: ServiceAccountKey | undefined = config.googleServiceAccount
  const base = config.googlePlayApiBase!.replace(/\/+$/, '')
  const app = `${base}/androidpublisher/v3/applications/${encodeURIComponent(config.googlePackageName ?? '')}`
  let token: { value: string; until: number } | undefined
  let pending: Promise<string> | undefined

  const call = async (url: string, init: RequestInit, what: string) => {
    try {
      return await tracedFetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) })
    } catch (err) {
      throw new PlayApiError(`${what}: Google unreachable (${(err as Error).name})`)
    }
  }

  /** Google's error body {error: {message}} (API) or {error, error_description} (OAuth), bounded. */
  const reason = async (res: Response) => {
    const text = (await res.text().catch(() => '')).slice(0, 2000)
    try {
      const body = JSON.parse(text)
      const e = body.error
      return String(typeof e === 'object' ? (e?.message ?? e?.status) : (body.error_description ?? e)).slice(0, 300)
    } catch {
      return `HTTP ${res.status}`
    }
  }

  const fetchToken = async (k: ServiceAccountKey) => {
    const now = Math.floor(Date.now() / 1000)
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(k.clientEmail)
      .setAudience(k.tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await importPKCS8(k.privateKey, 'RS256'))
    const res = await call(
      k.tokenUri,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      },
      'token exchange',
    )
    if (!res.ok) throw new PlayApiError(`token exchange refused (HTTP ${res.status}): ${await reason(res)}`)
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown }
    if (typeof body.access_token !== 'string') throw new PlayApiError('token exchange: no access_token in the answer')
    const ttl = typeof body.expires_in === 'number' ? body.expires_in * 1000 : 3_600_000
    token = { value: body.access_token, until: Date.now() + Math.max(ttl - TOKEN_MARGIN_MS, 1000) }
    return body.access_token
  }

  /** A valid access token; concurrent callers share one exchange. */
  const accessToken = async () => {
    if (!key) throw new PlayApiError('GOOGLE_SERVICE_ACCOUNT_JSON is not set')
    if (token && token.until > Date.now()) return token.value
    pending ??= fetchToken(key).finally(() => (pending = undefined))
    return pending
  }

  /** An authorised call; a 401 (token revoked early) renews the token once. */
  const authorised = async (url: string, init: RequestInit, what: string) => {
    for (let attempt = 0; ; attempt++) {
      const bearer = await accessToken()
      const res = await call(
        url,
        { ...init, headers: { ...init.headers, authorization: `Bearer ${bearer}`, accept: 'application/json' } },
        what,
      )
      if (res.status !== 401 || attempt > 0) return res
      token = undefined
      await res.body?.cancel()
    }
  }

  return {
    /** True when a service-account key is configured: notifications and links are checked against the API. */
    configured: !!key,

    async subscription(purchaseToken: string): Promise<PlaySubscription> {
      const res = await authorised(
        `${app}/purchases/subscriptionsv2/tokens/${encodeURIComponent(purchaseToken)}`,
        { method: 'GET' },
        'subscriptionsv2.get',
      )
      if (res.status === 400 || res.status === 404 || res.status === 410) {
        await res.body?.cancel()
        throw new PlayPurchaseUnknown(res.status)
      }
      if (!res.ok) throw new PlayApiError(`subscriptionsv2.get failed (HTTP ${res.status}): ${await reason(res)}`)
      const body = (await res.json().catch(() => undefined)) as PlaySubscription | undefined
      if (!body || typeof body !== 'object') throw new PlayApiError('subscriptionsv2.get: the answer is not JSON')
      return body
    },

    async acknowledge(productId: string, purchaseToken: string): Promise<void> {
      const url = `${app}/purchases/subscriptions/${encodeURIComponent(productId)}/tokens/${encodeURIComponent(purchaseToken)}:acknowledge`
      const res = await authorised(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        'subscriptions.acknowledge',
      )
      if (!res.ok) {
        const why = await reason(res)
        // "already acknowledged" is done, not failed.
        if (res.status === 400 && /already acknowledged/i.test(why)) return
        throw new PlayApiError(`subscriptions.acknowledge failed (HTTP ${res.status}): ${why}`)
      }
      await res.body?.cancel()
      logger.info('Google Play purchase acknowledged', { product_id: productId })
    },
  }
}

export type PlayApi = ReturnType<typeof createPlayApi>

/** Billing configuration: every variable the plugin reads, validated at start (docs/plugins/billing.md#configuration). */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { env, type InferConfig } from '../../core/index.ts'

/** `price_123=pro,com.app.annual=enterprise`: product or price id -> plan. */
function parsePlanMap(raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = pair.lastIndexOf('=')
    const id = pair.slice(0, at).trim()
    const plan = pair.slice(at + 1).trim()
    if (at <= 0 || !id || !/^[a-z][a-z0-9_-]{0,31}$/.test(plan)) throw new Error('bad pair')
    out[id] = plan
  }
  return out
}

/** A path to a PEM file, or PEM text itself: every certificate in it (tests, private roots). */
function parsePem(raw: string): X509Certificate[] {
  const text = raw.includes('-----BEGIN') ? raw.replace(/\\n/g, '\n') : readFileSync(raw, 'utf8')
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (!blocks.length) throw new Error('no certificate')
  return blocks.map((b) => new X509Certificate(b))
}

/** STRIPE_API_BASE: http(s)://host[:port], the SDK's host, port and protocol. */
function parseApiBase(raw: string) {
  const u = new URL(raw)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol')
  const protocol = u.protocol.slice(0, -1) as 'http' | 'https'
  return { host: u.hostname, port: u.port || (protocol === 'https' ? '443' : '80'), protocol, text: raw }
}

/** A Google service-account key: the JSON text, or a path to the .json file the Cloud console gave. */
export interface ServiceAccountKey {
  clientEmail: string
  privateKey: string
  tokenUri: string
}

function parseServiceAccount(raw: string): ServiceAccountKey {
  const key = JSON.parse(raw.startsWith('{') ? raw : readFileSync(raw, 'utf8'))
  const tokenUri = key.token_uri ?? 'https://oauth2.googleapis.com/token'
  if (
    typeof key.client_email !== 'string' ||
    typeof key.private_key !== 'string' ||
    !key.private_key.includes('PRIVATE KEY')
  )
    throw new Error('not a key')
  if (!/^https?:\/\//.test(tokenUri)) throw new Error('token_uri')
  return { clientEmail: key.client_email, privateKey: key.private_key, tokenUri }
}

const UNIT_MS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }

/** `N/second|minute|hour|day`, as the core's rate limits. */
function parseRate(raw: string) {
  const m = /^(\d{1,9})\s*\/\s*(second|minute|hour|day)s?$/i.exec(raw.trim())
  if (!m || Number(m[1]) < 1) throw new Error('bad rate')
  const unit = m[2]!.toLowerCase()
  return { limit: Number(m[1]), windowMs: UNIT_MS[unit]!, text: `${Number(m[1])}/${unit}` }
}

export const billingConfig = {
  stripeSecretKey: env.secret('STRIPE_SECRET_KEY', {
    description: 'Stripe secret key (sk_live_/sk_test_/rk_); unset = Stripe routes answer 503',
  }),
  stripeWebhookSecret: env.secret('STRIPE_WEBHOOK_SECRET', {
    description: 'Signing secret of the webhook endpoint (whsec_...); unset = the Stripe webhook answers 503',
  }),
  stripePriceMonthly: env.string('STRIPE_PRICE_MONTHLY', { description: 'Price id of plan "monthly" (price_...)' }),
  stripePriceYearly: env.string('STRIPE_PRICE_YEARLY', { description: 'Price id of plan "yearly" (price_...)' }),
  stripeApiBase: env.custom('STRIPE_API_BASE', 'an http(s) URL such as http://127.0.0.1:12111', parseApiBase, {
    description: 'Send Stripe API calls to another host (a local fake in tests); unset = api.stripe.com',
    show: (v) => v.text,
  }),
  stripeMaxNetworkRetries: env.int('STRIPE_MAX_NETWORK_RETRIES', {
    default: 2,
    min: 0,
    max: 5,
    description: 'SDK retries of a failed Stripe call (idempotent)',
  }),
  stripeTimeoutMs: env.int('STRIPE_TIMEOUT_MS', {
    default: 20_000,
    min: 1000,
    max: 120_000,
    description: 'Timeout of one Stripe API call',
  }),
  appleBundleId: env.string('APPLE_BUNDLE_ID', { description: 'App bundle id; unset = the Apple webhook answers 503' }),
  appleAppId: env.string('APPLE_APP_ID', {
    description: 'Numeric Apple ID of the app: checked on Production notifications when set',
  }),
  appleEnvironments: env.list('APPLE_ENVIRONMENT', {
    default: ['Production', 'Sandbox'],
    description: 'Environments accepted (Production, Sandbox, Xcode, LocalTesting)',
  }),
  appleRootCa: env.custom('APPLE_ROOT_CA_PEM', 'a PEM file (path or text) with at least one certificate', parsePem, {
    description: 'Trusted root(s) for App Store JWS chains, replacing the bundled Apple Root CA - G3',
    show: () => '(bundled Apple Root CA - G3)',
  }),
  appleOnlineChecks: env.bool('APPLE_ONLINE_CHECKS', {
    default: false,
    description:
      "Check the App Store certificate chain now and for revocation via Apple's OCSP responders (needs outbound access to ocsp.apple.com; 503 when unreachable)",
  }),
  googlePackageName: env.string('GOOGLE_PACKAGE_NAME', {
    description: 'Android package name; unset = the Google webhook answers 503',
  }),
  googlePubsubAudience: env.string('GOOGLE_PUBSUB_AUDIENCE', {
    description: "Audience of the push subscription's OIDC token; set = the token is required and verified",
  }),
  googlePubsubServiceAccount: env.string('GOOGLE_PUBSUB_SERVICE_ACCOUNT', {
    description: 'Service-account email the push token must carry',
  }),
  googleOidcJwksUrl: env.url('GOOGLE_OIDC_JWKS_URL', {
    default: 'https://www.googleapis.com/oauth2/v3/certs',
    protocols: ['http', 'https'],
    description: "JWKS of Google's OIDC push tokens",
  }),
  googleServiceAccount: env.custom(
    'GOOGLE_SERVICE_ACCOUNT_JSON',
    'a service-account key: its JSON text or a path to the .json file',
    parseServiceAccount,
    {
      description:
        'Key of a service account with access to the Play Console app; set = every notification and purchase link is checked with the Play Developer API (expiry, state) and purchases are acknowledged',
      show: (k) => k.clientEmail,
      secret: true,
    },
  ),
  googlePlayApiBase: env.url('GOOGLE_PLAY_API_BASE', {
    default: 'https://androidpublisher.googleapis.com',
    protocols: ['http', 'https'],
    description: 'Base URL of the Play Developer API (a local fake in tests)',
  }),
  planMap: env.custom(
    'BILLING_PLAN_MAP',
    'comma-separated id=plan pairs (plan: lowercase letters, digits, - or _)',
    parsePlanMap,
    {
      default: {},
      description:
        'Product or price id -> plan, e.g. price_123=pro,com.app.max=enterprise; unlisted paid products are BILLING_DEFAULT_PLAN',
      show: (v) =>
        Object.entries(v)
          .map(([k, p]) => `${k}=${p}`)
          .join(','),
    },
  ),
  webhookRateLimit: env.custom('BILLING_WEBHOOK_RATE_LIMIT', 'N/second|minute|hour|day', parseRate, {
    default: parseRate('600/minute'),
    show: (r) => r.text,
    description: 'Webhook deliveries per client IP (providers send bursts)',
  }),
  seatProration: env.oneOf('BILLING_SEAT_PRORATION', ['create_prorations', 'none', 'always_invoice'] as const, {
    default: 'create_prorations',
    description:
      "Stripe proration_behavior of an organization's seat quantity change (a member joins or leaves; needs the organizations plugin)",
  }),
  defaultPlan: env.string<string>('BILLING_DEFAULT_PLAN', {
    default: 'pro',
    description: 'Plan of a paid product not in BILLING_PLAN_MAP',
  }),
}

export type BillingConfig = InferConfig<typeof billingConfig>

/** The plan a product or price id grants. */
export const planFor = (config: Pick<BillingConfig, 'planMap' | 'defaultPlan'>, productId: string | null | undefined) =>
  (productId && config.planMap[productId]) || config.defaultPlan

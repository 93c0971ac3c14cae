/** `npm run doctor` for billing: Stripe keys of the right form, and the webhook secret verifies what it signs. */
import Stripe from 'stripe'
import { doctor, type DoctorCheck, type DoctorContext } from '../../core/index.ts'
import type { BillingConfig } from './config.ts'
import { verifyStripeWebhook } from './providers/stripe.ts'

const KEY = /^(sk|rk)_(live|test)_[A-Za-z0-9]+$/
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/=]+$/

export async function billingDoctor({ config, core }: DoctorContext<BillingConfig>): Promise<DoctorCheck[]> {
  return [secretKey(config.stripeSecretKey, core.nodeEnv), await webhookSecret(config.stripeWebhookSecret)]
}

function secretKey(key: string | undefined, nodeEnv: string): DoctorCheck {
  const name = 'STRIPE_SECRET_KEY'
  const fix = 'copy it from the Stripe Dashboard, Developers > API keys (sk_live_..., or a restricted rk_live_... key)'
  if (!key) return doctor.warn(name, 'unset: checkout, portal and invoices answer 503', fix)
  if (!KEY.test(key))
    return doctor.fail(name, 'not a Stripe secret key (sk_live_, sk_test_, rk_live_ or rk_test_)', fix)
  const mode = key.includes('_live_') ? 'live' : 'test'
  if (mode === 'test' && nodeEnv === 'production')
    return doctor.warn(name, 'a test-mode key with NODE_ENV=production', 'use the live key in production')
  return doctor.pass(name, `${key.slice(0, 3)}${mode}_... (${mode} mode)`)
}

async function webhookSecret(secret: string | undefined): Promise<DoctorCheck> {
  const name = 'STRIPE_WEBHOOK_SECRET'
  const fix = "copy the endpoint's signing secret from the Stripe Dashboard, Developers > Webhooks (whsec_...)"
  if (!secret)
    return doctor.warn(name, 'unset: the Stripe webhook answers 503 and subscription changes are missed', fix)
  if (!WEBHOOK_SECRET.test(secret)) return doctor.fail(name, 'not a webhook signing secret (whsec_...)', fix)
  // A sample signed with the secret goes through the verification the webhook route uses.
  const payload = JSON.stringify({
    id: 'evt_doctor_sample',
    object: 'event',
    type: 'customer.created',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: 'cus_doctor_sample', object: 'customer' } },
  })
  try {
    const header = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret,
      cryptoProvider: Stripe.createSubtleCryptoProvider(),
    })
    await verifyStripeWebhook(payload, header, secret)
    return doctor.pass(name, 'whsec_...: verifies a sample it signed')
  } catch (err) {
    return doctor.fail(name, `a sample it signed does not verify: ${doctor.reason(err)}`, fix)
  }
}

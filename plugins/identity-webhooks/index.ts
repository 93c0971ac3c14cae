/** Identity webhooks: Clerk (svix) and Supabase (bearer) keep the users table in sync with the identity provider. */
import { createHash } from 'node:crypto'
import { AppError, definePlugin, env, serviceUnavailable, t } from '../../core/index.ts'
import { clerkDelivery, clerkVerifier, verifyClerk } from './clerk.ts'
import { createDeliveries, webhookStats, type Deliveries, type Delivery, type Origin } from './deliveries.ts'
import { checkSupabaseBearer, supabaseDelivery } from './supabase.ts'

const services = new WeakMap<object, { deliveries: Deliveries; clerk?: ReturnType<typeof clerkVerifier> }>()

const received = t.Object({
  received: t.Literal(true),
  outcome: t.Union([t.Literal('applied'), t.Literal('stale'), t.Literal('ignored'), t.Literal('duplicate')]),
})
const doc = (summary: string, description: string) => ({
  summary,
  description,
  responses: { 200: { description: 'Acknowledged (also a redelivery, or an event older than the stored state)', content: { 'application/json': { schema: received as any } } } },
})

/** A signed delivery that cannot be used is counted as failed, then answered 400. */
async function handle(deliveries: Deliveries, origin: Origin, parse: () => Delivery, fallback: Pick<Delivery, 'provider' | 'id' | 'type'>) {
  let delivery: Delivery
  try {
    delivery = parse()
  } catch (err) {
    if (err instanceof AppError) await deliveries.failed(fallback, err.message)
    throw err
  }
  return deliveries.receive(delivery, origin)
}

const notConfigured = (provider: string, variable: string) =>
  serviceUnavailable(`${provider} webhooks are not configured: set ${variable}`, { missing: variable })

/** The raw body (`parse: 'text'`): signatures are checked over the exact bytes received. */
const rawOf = (body: unknown) => (typeof body === 'string' ? body : '')

// Providers deliver bursts (bulk imports) from a few addresses: more room than the default class.
const WEBHOOK_RATE = { limit: 1000, windowMs: 60_000, text: '1000/minute' }

export default definePlugin({
  name: 'identity-webhooks',
  dependsOn: ['users'],
  tag: { name: 'Identity webhooks', description: 'Clerk and Supabase user sync' },
  config: {
    clerkSecret: env.secret('CLERK_WEBHOOK_SECRET', { description: 'svix signing secret of the Clerk webhook endpoint (whsec_...); unset = 503' }),
    supabaseSecret: env.secret('SUPABASE_WEBHOOK_SECRET', { minLength: 16, description: 'bearer secret of the Supabase database webhook; unset = 503' }),
  },
  migrations: new URL('./migrations/', import.meta.url),
  rateLimits: () => ({
    'webhooks-clerk': { path: '/public/webhooks/clerk', rule: WEBHOOK_RATE, perIp: true },
    'webhooks-supabase': { path: '/public/webhooks/supabase', rule: WEBHOOK_RATE, perIp: true },
  }),
  provides: (ctx) => {
    const clerk = ctx.config.clerkSecret ? clerkVerifier(ctx.config.clerkSecret) : undefined
    services.set(ctx.events, { deliveries: createDeliveries(ctx.sql, ctx.use('users'), ctx.audit, ctx.logger), clerk })
    ctx.stats.contribute('webhooks', webhookStats(ctx.sql))
  },
  public: (ctx) => {
    const { deliveries, clerk } = services.get(ctx.events)!
    const supabaseSecret = ctx.config.supabaseSecret
    return ctx
      .router('/webhooks')
      .post(
        '/clerk',
        async ({ body, request, clientIp, requestId }) => {
          if (!clerk) throw notConfigured('Clerk', 'CLERK_WEBHOOK_SECRET')
          const { id, event, sentAt } = verifyClerk(clerk, rawOf(body), request.headers)
          const type = typeof event.type === 'string' ? event.type : 'unknown'
          return handle(deliveries, { ip: clientIp, requestId }, () => clerkDelivery(id, event, sentAt), { provider: 'clerk', id, type })
        },
        {
          parse: 'text',
          detail: doc(
            'Clerk webhook',
            'Signed by svix (svix-id, svix-timestamp, svix-signature; 5-minute tolerance) over the raw body. user.created, user.updated (create or update the user), user.deleted (deactivate and anonymise). Bad signature 401, missing headers 400, unconfigured 503.',
          ),
        },
      )
      .post(
        '/supabase',
        async ({ body, request, clientIp, requestId }) => {
          if (!supabaseSecret) throw notConfigured('Supabase', 'SUPABASE_WEBHOOK_SECRET')
          checkSupabaseBearer(request.headers.get('authorization'), supabaseSecret)
          const raw = rawOf(body)
          const id = createHash('sha256').update(raw).digest('hex')
          return handle(deliveries, { ip: clientIp, requestId }, () => supabaseDelivery(raw), { provider: 'supabase', id, type: 'unparsable' })
        },
        {
          parse: 'text',
          detail: doc(
            'Supabase webhook',
            'Database webhook on auth.users with `Authorization: Bearer SUPABASE_WEBHOOK_SECRET`: INSERT, UPDATE (create or update the user), DELETE (deactivate and anonymise). Wrong secret 401, unconfigured 503.',
          ),
        },
      )
  },
})

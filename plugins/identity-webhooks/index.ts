/** Identity webhooks: Clerk (svix) and Supabase (bearer) keep the users table in sync, through the core's inbound-event pipeline. */
import {
  AppError,
  definePlugin,
  env,
  serviceUnavailable,
  t,
  type InboundEvent,
  type PluginInstance,
} from '../../core/index.ts'
import users from '../users/index.ts'
import { clerkDeliveryOf, clerkEvent, clerkVerifier, verifyClerk } from './clerk.ts'
import {
  asStored,
  createDeliveries,
  type Deliveries,
  type Delivery,
  type DeliveryOf,
  type Origin,
  type Provider,
} from './deliveries.ts'
import { identityWebhooksDoctor } from './doctor.ts'
import { checkSupabaseBearer, supabaseDeliveryOf, supabaseEvent } from './supabase.ts'

const received = t.Object({
  received: t.Literal(true),
  outcome: t.Union([t.Literal('applied'), t.Literal('stale'), t.Literal('ignored'), t.Literal('duplicate')]),
})
const doc = (summary: string, description: string) => ({
  summary,
  description,
  responses: {
    200: {
      description: 'Acknowledged (also a redelivery, or an event older than the stored state)',
      content: { 'application/json': { schema: received as any } },
    },
    401: { description: 'Bad signature or wrong secret (AUTHENTICATION_ERROR): nothing is stored' },
    400: {
      description:
        'Missing signature headers; or verified but without the shape the sync reads: `details.provider` and `details.field` name the first bad field, stored once as `rejected`, never applied',
    },
    500: {
      description:
        'Verified and stored, but applying failed: kept as failed in inbound_events and retried by a job; the provider redelivers',
    },
  },
})

/**
 * A verified delivery without the shape its provider's delivery reads (event.malformed, or a
 * badRequest of deliveryOf) goes to the pipeline as malformed: stored once as rejected, answered
 * 400 with details.provider and details.field, never applied.
 */
async function handle(deliveries: Deliveries, origin: Origin, event: InboundEvent, deliveryOf: DeliveryOf) {
  let delivery: Delivery | undefined
  if (!event.malformed) {
    try {
      delivery = deliveryOf(asStored(event))
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      event = {
        ...event,
        malformed: { field: typeof err.details.field === 'string' ? err.details.field : 'body', message: err.message },
      }
    }
  }
  return deliveries.receive(
    event,
    delivery ?? { provider: event.provider as Provider, id: event.eventId, type: event.type },
    origin,
  )
}

const notConfigured = (provider: string, variable: string) =>
  serviceUnavailable(`${provider} webhooks are not configured: set ${variable}`, { missing: variable })

/** The raw body (`parse: 'text'`): signatures are checked over the exact bytes received. */
const rawOf = (body: unknown) => (typeof body === 'string' ? body : '')

// Providers deliver bursts (bulk imports) from a few addresses: more room than the default class.
const WEBHOOK_RATE = { limit: 1000, windowMs: 60_000, text: '1000/minute' }

/** The router of the public zone (route factories get it in their context). */
type PublicRouter = Parameters<NonNullable<NonNullable<PluginInstance['routes']>['public']>>[0]['router']

/** POST /public/webhooks/clerk and /supabase: verified, then stored and applied through the deliveries. */
const webhookRoutes = (
  router: PublicRouter,
  deliveries: Deliveries,
  clerk: ReturnType<typeof clerkVerifier> | undefined,
  supabaseSecret: string | undefined,
) =>
  router('/webhooks')
    .post(
      '/clerk',
      async ({ body, request, clientIp, requestId }) => {
        if (!clerk) throw notConfigured('Clerk', 'CLERK_WEBHOOK_SECRET')
        const { id, event, sentAt, json } = verifyClerk(clerk, rawOf(body), request.headers)
        return handle(deliveries, { ip: clientIp, requestId }, clerkEvent(id, event, sentAt, json), clerkDeliveryOf)
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
        return handle(deliveries, { ip: clientIp, requestId }, supabaseEvent(rawOf(body)), supabaseDeliveryOf)
      },
      {
        parse: 'text',
        detail: doc(
          'Supabase webhook',
          'Database webhook on auth.users with `Authorization: Bearer SUPABASE_WEBHOOK_SECRET`: INSERT, UPDATE (create or update the user), DELETE (deactivate and anonymise). Wrong secret 401, unconfigured 503.',
        ),
      },
    )

export default definePlugin({
  name: 'identity-webhooks',
  dependsOn: { users },
  tag: { name: 'Identity webhooks', description: 'Clerk and Supabase user sync' },
  config: {
    clerkSecret: env.secret('CLERK_WEBHOOK_SECRET', {
      description: 'svix signing secret of the Clerk webhook endpoint (whsec_...); unset = 503',
    }),
    supabaseSecret: env.secret('SUPABASE_WEBHOOK_SECRET', {
      minLength: 16,
      description: 'bearer secret of the Supabase database webhook; unset = 503',
    }),
  },
  doctor: identityWebhooksDoctor,
  migrations: new URL('./migrations/', import.meta.url),
  setup: (ctx) => {
    const clerk = ctx.config.clerkSecret ? clerkVerifier(ctx.config.clerkSecret) : undefined
    const supabaseSecret = ctx.config.supabaseSecret
    // Deliveries go to the core's inbound_events: the core counts them in the dashboard's `webhooks`
    // section; the admin plugin lists and replays them at /admin/webhooks/events.
    const deliveries = createDeliveries(ctx.inbound, ctx.deps.users, ctx.audit, ctx.logger, {
      clerk: clerkDeliveryOf,
      supabase: supabaseDeliveryOf,
    })
    return {
      rateLimits: {
        'webhooks-clerk': { path: '/public/webhooks/clerk', rule: WEBHOOK_RATE, perIp: true },
        'webhooks-supabase': { path: '/public/webhooks/supabase', rule: WEBHOOK_RATE, perIp: true },
      },
      routes: { public: ({ router }) => webhookRoutes(router, deliveries, clerk, supabaseSecret) },
    }
  },
})

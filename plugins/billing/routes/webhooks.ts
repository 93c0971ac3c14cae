/** /public/webhooks/{stripe,apple,google}: signed provider notifications, read as raw bytes (signatures cover them exactly). */
import { jsonDoc, type PluginInstance } from '../../../core/index.ts'
import { BillingModel } from '../schema.ts'
import type { Billing } from '../service.ts'

const body = (description: string, schema: Record<string, unknown>) => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
})

const RESPONSES = {
  200: jsonDoc('Stored and applied, or a duplicate acknowledged (not applied again)', BillingModel.received),
  400: {
    description:
      'Bad signature or a foreign notification: nothing is stored. A verified payload without the shape its applier reads: ' +
      '`details.provider` and `details.field` name the first bad field; stored once as `rejected`, never applied',
  },
  500: { description: 'Verified and stored, but applying failed: kept as failed and retried; the provider redelivers' },
  503: {
    description:
      "This provider is not configured, or (App Store with APPLE_ONLINE_CHECKS=true) Apple's OCSP responder cannot be reached: nothing is stored; the provider redelivers",
  },
}

type PublicContext = Parameters<NonNullable<NonNullable<PluginInstance['routes']>['public']>>[0]

export const webhookRoutes = ({ router }: PublicContext, billing: Billing) =>
  router('/webhooks')
    .post(
      '/stripe',
      async ({ request }) => billing.webhooks.stripe(await request.text(), request.headers.get('stripe-signature')),
      {
        // No body parsing: the signature is over the raw bytes.
        parse: 'none',
        detail: {
          summary: 'Stripe webhook',
          description:
            'Verified with `Stripe-Signature` against STRIPE_WEBHOOK_SECRET (300 s tolerance). Handles checkout.session.completed, ' +
            'customer.subscription.created/updated/deleted, invoice.paid and invoice.payment_failed; others are stored as ignored.',
          parameters: [
            {
              name: 'Stripe-Signature',
              in: 'header',
              required: true,
              schema: { type: 'string' },
              example: 't=1700000000,v1=...',
            },
          ],
          requestBody: body('A Stripe event', {
            type: 'object',
            required: ['id', 'type', 'created', 'data'],
            additionalProperties: true,
          }),
          responses: RESPONSES,
        },
      },
    )
    .post('/apple', async ({ request }) => billing.webhooks.apple(await request.text()), {
      parse: 'none',
      detail: {
        summary: 'App Store Server Notifications v2',
        description:
          "The JWS x5c chain (three certificates, Apple's marker OIDs) is verified up to Apple Root CA - G3 (or APPLE_ROOT_CA_PEM), then " +
          'signedTransactionInfo and signedRenewalInfo; bundle id (APPLE_BUNDLE_ID) and environment (APPLE_ENVIRONMENT) are checked. ' +
          'With APPLE_ONLINE_CHECKS=true the chain is checked at the current time and for revocation (OCSP, leaf and intermediate). ' +
          'Handles SUBSCRIBED, DID_RENEW, EXPIRED, REFUND and the other subscription notifications.',
        requestBody: body('{signedPayload}', {
          type: 'object',
          required: ['signedPayload'],
          properties: { signedPayload: { type: 'string' } },
        }),
        responses: RESPONSES,
      },
    })
    .post(
      '/google',
      async ({ request }) => billing.webhooks.google(await request.text(), request.headers.get('authorization')),
      {
        parse: 'none',
        detail: {
          summary: 'Google Play real-time developer notifications (Pub/Sub push)',
          description:
            "With GOOGLE_PUBSUB_AUDIENCE set, the push's `Authorization: Bearer` OIDC token is verified (Google's JWKS, audience, " +
            'service-account email). `message.data` is a base64 DeveloperNotification for GOOGLE_PACKAGE_NAME.',
          parameters: [
            {
              name: 'Authorization',
              in: 'header',
              required: false,
              schema: { type: 'string' },
              description: 'Bearer <Pub/Sub OIDC token>',
            },
          ],
          requestBody: body('Pub/Sub push', {
            type: 'object',
            required: ['message'],
            properties: {
              message: { type: 'object', properties: { data: { type: 'string' }, messageId: { type: 'string' } } },
              subscription: { type: 'string' },
            },
          }),
          responses: {
            ...RESPONSES,
            401: { description: 'Missing or invalid push token (when GOOGLE_PUBSUB_AUDIENCE is set)' },
          },
        },
      },
    )

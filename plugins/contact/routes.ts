/** Contact routes: the public form and its status (docs/plugins/contact.md), and the admin list of submissions. */
import { jsonDoc, page, validation, type PublicRouteContext, type RouteContext } from '../../core/index.ts'
import { ContactModel, type FormRules } from './schema.ts'
import type { ContactService, SubmissionInput } from './service.ts'
import type { FormTokens } from './spam.ts'

export interface ContactRouteConfig extends FormRules {
  sendConfirmation: boolean
}

export interface ContactRouteDeps {
  service: ContactService
  tokens: FormTokens
}

export const publicRoutes = (
  { router, rateLimits }: PublicRouteContext,
  config: ContactRouteConfig,
  { service, tokens }: ContactRouteDeps,
) =>
  router('/contact')
    .post(
      '',
      ({ body, clientIp, request }) => {
        return service.submit(body as SubmissionInput, { ip: clientIp, userAgent: request.headers.get('user-agent') })
      },
      {
        // Before validation: Elysia's normalisation would turn an array, a number or a string into an object.
        transform({ body }) {
          const extra = (body as { extra_fields?: unknown } | null)?.extra_fields
          if (extra != null && (typeof extra !== 'object' || Array.isArray(extra))) {
            throw validation('extra_fields', 'extra_fields must be an object')
          }
        },
        body: ContactModel.submit(config),
        response: { 200: ContactModel.submitted },
        detail: {
          summary: 'Submit the contact form',
          description:
            'Rate limited per client IP (CONTACT_RATE_LIMIT, default 5/hour). Spam (honeypot filled, or a form_token ' +
            'younger than CONTACT_MIN_FILL_SECONDS) gets the same 200, is kept as spam and triggers nothing.',
        },
      },
    )
    .get(
      '/status',
      async ({ clientIp }) => {
        // The pipeline counts the contact class per IP under the key `ip:<client ip>`.
        const rate = await rateLimits.peek('contact', `ip:${clientIp}`)
        return {
          available: rate.remaining > 0,
          rate_limit: rate,
          config: {
            require_subject: config.requireSubject,
            require_phone: config.requirePhone,
            sends_confirmation: config.sendConfirmation,
          },
          form_token: await tokens.issue(),
        }
      },
      {
        response: { 200: ContactModel.status },
        detail: { summary: "Form settings and the caller's remaining submissions (does not count as one)" },
      },
    )

export const adminRoutes = ({ router }: RouteContext, { service }: Pick<ContactRouteDeps, 'service'>) =>
  router('/contact/submissions')
    .get(
      '',
      async ({ query }) => {
        const { items, total } = await service.list(query)
        return page(items, total, query)
      },
      {
        scope: 'contact:read',
        query: ContactModel.listQuery,
        detail: {
          summary: 'List contact submissions, newest first',
          responses: { 200: jsonDoc('A page of submissions', ContactModel.submissionPage) },
        },
      },
    )
    .get('/:id', ({ params }) => service.get(params.id), {
      scope: 'contact:read',
      params: ContactModel.idParams,
      response: { 200: ContactModel.submissionDetail },
      detail: { summary: 'One submission (by id or CNT- reference) with the state of its email and webhook jobs' },
    })

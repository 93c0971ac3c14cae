/** Feature-flag routes: admin CRUD and check under /admin/feature-flags, the caller's flags under /app/feature-flags. */
import { jsonDoc, type AuditLog, type RouteContext } from '../../core/index.ts'
import { flagType } from './evaluate.ts'
import { FlagModel } from './schema.ts'
import type { FeatureFlagsService, FlagAdmin } from './service.ts'

/** API keys reach admin routes with admin:full only (as the admin plugin's). */
const ADMIN_SCOPE = 'admin:full'

export const flagAdminRoutes = ({ router }: RouteContext, flags: FlagAdmin, audit: AuditLog) =>
  router('/feature-flags')
    .get('', ({ query }) => flags.list(query), {
      query: FlagModel.listQuery,
      scope: ADMIN_SCOPE,
      // Documented rather than declared as `response`: the check would copy the page and drop the marker v2 needs.
      detail: {
        summary: 'List feature flags',
        description: 'Newest first.',
        responses: { 200: jsonDoc('A page of flags', FlagModel.list) },
      },
    })
    .post(
      '',
      async ({ body, set, principal, requestId, clientIp }) => {
        const flag = await flags.create(
          { ...body, flag_type: flagType(body.flag_type) },
          audit.from({ principal, requestId, clientIp }),
        )
        set.status = 201
        return flag
      },
      {
        body: FlagModel.create,
        scope: ADMIN_SCOPE,
        response: { 201: FlagModel.flag },
        detail: {
          summary: 'Create a feature flag',
          description: '409 CONFLICT when the key exists. Audit-logged as feature_flag.create.',
          responses: { 409: { description: 'A flag with this key exists' } },
        },
      },
    )
    .get('/:flag_id', ({ params }) => flags.get(params.flag_id), {
      params: FlagModel.params,
      response: { 200: FlagModel.flag },
      scope: ADMIN_SCOPE,
      detail: { summary: 'Get a feature flag', description: 'By id or by key.' },
    })
    .patch(
      '/:flag_id',
      ({ params, body, principal, requestId, clientIp }) =>
        flags.update(
          params.flag_id,
          { ...body, flag_type: flagType(body.flag_type) },
          audit.from({ principal, requestId, clientIp }),
        ),
      {
        params: FlagModel.params,
        body: FlagModel.update,
        scope: ADMIN_SCOPE,
        response: { 200: FlagModel.flag },
        detail: {
          summary: 'Update a feature flag',
          description: 'By id or by key; the key itself cannot change. Audit-logged as feature_flag.update.',
        },
      },
    )
    .delete(
      '/:flag_id',
      async ({ params, set, principal, requestId, clientIp }) => {
        await flags.remove(params.flag_id, audit.from({ principal, requestId, clientIp }))
        set.status = 204
      },
      {
        params: FlagModel.params,
        scope: ADMIN_SCOPE,
        detail: {
          summary: 'Delete a feature flag',
          description: 'Audit-logged as feature_flag.delete.',
          responses: { 204: { description: 'Deleted' } },
        },
      },
    )
    .get('/:flag_id/check', ({ params, query }) => flags.check(params.flag_id, query.user_id, { plan: query.plan }), {
      params: FlagModel.params,
      query: FlagModel.checkQuery,
      scope: ADMIN_SCOPE,
      response: { 200: FlagModel.evaluation },
      detail: {
        summary: 'Check a feature flag for a user',
        description:
          'By key (or id). reason: disabled, expired, enabled, percentage_rollout, not_in_rollout, user_list, not_in_user_list, plan, plan_not_included.',
      },
    })

export const flagAppRoutes = ({ router }: RouteContext, flags: FeatureFlagsService) =>
  router('/feature-flags')
    .get(
      '',
      async ({ user, principal }) => {
        // With an active organization (X-Organization-ID), plan_based flags follow its plan.
        const evaluations = await flags.evaluateAll(user, { org: principal.org?.id })
        return { flags: Object.fromEntries(evaluations.map((e) => [e.flag_key, e.is_enabled])), evaluations }
      },
      {
        response: { 200: FlagModel.mine },
        scope: 'feature_flags:read',
        detail: {
          summary: 'My feature flags',
          description:
            "Every flag evaluated for the caller: `flags` by key, `evaluations` with reasons. With an active organization (X-Organization-ID), plan_based flags use the organization's plan.",
        },
      },
    )
    .get(
      '/:flag_key',
      async ({ user, params, principal }) => flags.evaluate(params.flag_key, user, { org: principal.org?.id }),
      {
        params: FlagModel.keyParams,
        response: { 200: FlagModel.evaluation },
        scope: 'feature_flags:read',
        detail: {
          summary: 'One feature flag for me',
          description: 'An unknown key answers is_enabled false with reason not_found.',
        },
      },
    )

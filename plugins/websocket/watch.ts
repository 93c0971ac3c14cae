/**
 * Events this plugin reacts to: `<kind>.deleted` / `<kind>.updated` of every channel kind
 * (re-authorise subscribers, or close the channel with a `channel_closed` event), forwarded
 * to the channel first for the kinds of FORWARDED; `user.changed` (role or activation),
 * credential revocations, and billing's `subscription.updated` (a notification to that user).
 */
import type { EventMeta, PluginContext } from '../../core/index.ts'
import type { Endpoint } from './connection.ts'
import type { Hub } from './hub.ts'
import type { WebsocketService } from './service.ts'

type Payload = Record<string, unknown> | undefined

/** `{ id }` (project.deleted) or `{ <kind>: { id } }` (project.updated's `{ project, changed }`). */
function resourceId(kind: string, payload: Payload): string | undefined {
  const direct = payload?.id
  if (typeof direct === 'string' || typeof direct === 'number') return String(direct)
  const nested = (payload?.[kind] as Payload)?.id
  return typeof nested === 'string' || typeof nested === 'number' ? String(nested) : undefined
}

/**
 * Kinds whose `<kind>.updated` / `<kind>.deleted` bus events reach their channel as they are:
 * `{type: "project.updated", channel, data: <project>, changed, timestamp}` and
 * `{type: "project.deleted", channel, data: {id}, timestamp}`. Other kinds shape their own
 * channel events (tickets: ticket_created, ticket_updated), so theirs are not forwarded.
 */
export const FORWARDED: ReadonlySet<string> = new Set(['project'])

function resourceEvent(kind: string, type: string, id: string, payload: Payload, deleted: boolean) {
  if (deleted) return { type, data: { id } }
  const resource = payload?.[kind] ?? payload
  const changed = payload?.changed
  return { type, data: resource, ...(Array.isArray(changed) ? { changed } : {}) }
}

export function watchResources(
  ctx: Pick<PluginContext, 'events' | 'logger' | 'channels'>,
  hub: Hub,
  service: WebsocketService,
  endpoint: Endpoint,
): (() => void)[] {
  const { events, logger } = ctx
  const offs: (() => void)[] = []
  // Publishers may or may not broadcast these events: each replica that sees one forwards it
  // under the event's id, and every replica acts on that id once.
  const on = (name: string, fn: (payload: Payload, meta: EventMeta) => unknown) =>
    offs.push(
      events.subscribe(name, async (payload, meta) => {
        try {
          await fn(payload as Payload, meta)
        } catch (err) {
          logger.error('websocket: event handling failed', { event: name, error: err })
        }
      }),
    )

  for (const kind of ctx.channels.kinds()) {
    if (kind === 'user') continue
    for (const [verb, drop] of [
      ['deleted', true],
      ['updated', false],
    ] as const) {
      on(`${kind}.${verb}`, async (payload, meta) => {
        const id = resourceId(kind, payload)
        if (id === undefined) return
        const channel = `${kind}:${id}`
        const key = `${meta.name}:${meta.id}`
        // The subscribers get the event before the channel is re-authorised or closed (same order on every replica).
        if (FORWARDED.has(kind))
          await service.broadcastToChannel(channel, resourceEvent(kind, meta.name, id, payload, drop), {
            key: `${key}:event`,
          })
        return hub.recheck(channel, drop, key)
      })
    }
  }

  on('user.changed', (payload) => {
    if (typeof payload?.id === 'string') return endpoint.userChanged(payload.id)
  })

  // Revocations apply to open sockets too: every plugin that revokes a credential (API keys of
  // users and organizations, impersonation sessions) publishes the core's `credential.revoked`.
  on('credential.revoked', (payload) => {
    if (typeof payload?.id === 'string') endpoint.credentialRevoked(payload.id)
  })

  on('subscription.updated', (payload, meta) => {
    const userId = payload?.user_id
    if (typeof userId !== 'string' || !userId) return
    const { user_id: _, ...subscription } = payload!
    const status = typeof subscription.status === 'string' ? subscription.status : 'updated'
    return service.sendToUser(
      userId,
      {
        type: 'notification',
        data: {
          title: 'Subscription updated',
          message: `Your subscription is now ${status}`,
          event: 'subscription.updated',
          subscription,
        },
      },
      { key: `subscription.updated:${meta.id}` },
    )
  })
  return offs
}

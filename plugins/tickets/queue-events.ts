/**
 * The queues service announcing each change as `ticket_queue.changed` (published once, locally),
 * which the live stream records as `queue_changed` for admins (stream-append.ts).
 */
import type { EventBus } from '../../core/index.ts'
import type { createQueues } from './queues.ts'
import type { QueueModel } from './schema.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** A queue was created, updated or deleted (the live stream's `queue_changed`, admins only). */
    'ticket_queue.changed': {
      action: 'created' | 'updated' | 'deleted'
      queue: QueueModel.queue | { id: string }
    }
  }
}

export function withQueueEvents(queues: ReturnType<typeof createQueues>, events: EventBus) {
  const announce = async (action: 'created' | 'updated' | 'deleted', queue: QueueModel.queue | { id: string }) => {
    await events.publish('ticket_queue.changed', { action, queue })
  }
  return {
    ...queues,
    async create(input: QueueModel.create) {
      const q = await queues.create(input)
      await announce('created', q)
      return q
    },
    async update(id: string, input: QueueModel.update) {
      const q = await queues.update(id, input)
      await announce('updated', q)
      return q
    },
    async remove(id: string) {
      await queues.remove(id)
      await announce('deleted', { id })
    },
  }
}

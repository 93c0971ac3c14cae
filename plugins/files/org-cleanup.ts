/**
 * A deleted organization's files and objects go with it (docs/plugins/files.md#organizations),
 * through a durable subscriber of `org.deleted` (docs/jobs-and-events.md#durable-events): the job
 * is enqueued in the deletion's transaction (a crash right after the commit loses nothing), runs
 * once however many replicas there are, and a store failure is retried. Idempotent: a rerun
 * deletes what is left, nothing when all is gone.
 */
import type { JobQueue, Logger } from '../../core/index.ts'
import type { FilesService } from './service.ts'

export const PURGE_ORG_JOB = 'files.purge-organization'

export function subscribeOrgCleanup(jobs: JobQueue, service: FilesService, logger: Logger) {
  jobs.subscribeDurable('org.deleted', PURGE_ORG_JOB, async ({ org_id }) => {
    const removed = await service.purgeOrganization(org_id)
    logger.info('files of a deleted organization removed', { org_id, count: removed })
  })
}

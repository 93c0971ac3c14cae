/**
 * A deleted organization's projects are soft-deleted with it
 * (docs/plugins/projects.md#organizations), through a durable subscriber of `org.deleted`
 * (docs/jobs-and-events.md#durable-events): the job is enqueued in the deletion's transaction, so
 * a crash right after the commit loses nothing, and it runs once however many replicas there are.
 * Idempotent: a rerun finds no live project left.
 */
import type { JobQueue } from '../../core/index.ts'
import type { ProjectsService } from './service.ts'

export const REMOVE_ORG_PROJECTS_JOB = 'projects.remove-organization'

export function subscribeOrgCleanup(jobs: JobQueue, projects: ProjectsService) {
  jobs.subscribeDurable('org.deleted', REMOVE_ORG_PROJECTS_JOB, async ({ org_id }) => {
    await projects.removeOrganization(org_id)
  })
}

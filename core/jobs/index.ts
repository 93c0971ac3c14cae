/**
 * Background jobs: a Postgres queue (SKIP LOCKED) with retries, a dead state, run-at, unique keys,
 * cron schedules and durable event subscribers (a transactional outbox).
 */
export {
  createJobQueue,
  JOB_STATES,
  type DurableJob,
  type DurableSubscriberOptions,
  type EnqueueOptions,
  type JobHandler,
  type JobInfo,
  type JobListQuery,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type JobStats,
  type JobView,
} from './queue.ts'
export { backoffMs, describeError, type JobOutcome } from './worker.ts'
export { latestTick, nextTick, parseCron } from './schedule.ts'

/** Background jobs: a Postgres queue (SKIP LOCKED) with retries, a dead state, run-at, unique keys and cron schedules. */
export {
  createJobQueue,
  JOB_STATES,
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

/** What a job handler is given: shared by the queue (register) and the worker (run). */

/** Runs at least once: a worker lost mid-job (crash, deploy) means a rerun, so keep it idempotent. */
export type JobHandler<P = any> = (payload: P, job: JobInfo) => Promise<void> | void

/** `attempt` counts from 1. */
export interface JobInfo {
  id: string
  name: string
  attempt: number
  maxAttempts: number
}

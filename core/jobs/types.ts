/** What a job handler is given: shared by the queue (register) and the worker (run). */

export type JobHandler<P = any> = (payload: P, job: JobInfo) => Promise<void> | void

/** `attempt` counts from 1. */
export interface JobInfo {
  id: string
  name: string
  attempt: number
  maxAttempts: number
}

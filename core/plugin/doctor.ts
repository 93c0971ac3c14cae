/** What a doctor check reports (docs/deployment.md#doctor): one line of the table, with its fix. */
import type { CoreConfig } from '../config/index.ts'

export type DoctorStatus = 'pass' | 'warn' | 'fail'

export interface DoctorCheck {
  /** Short name of what was checked, e.g. `database`, `S3_BUCKET cors`. */
  check: string
  status: DoctorStatus
  /** What was found; never a secret's value. */
  detail: string
  /** What to do about a warn or fail. */
  fix?: string
}

/** What a plugin's `doctor` hook receives: its parsed config and the core's. */
export interface DoctorContext<C = unknown> {
  readonly config: C
  readonly core: Readonly<CoreConfig> & { publicUrl: string }
  /** Each network probe gives up after this many milliseconds. */
  readonly timeoutMs: number
}

/**
 * A plugin's own checks (`definePlugin({ doctor })`): secrets of plausible form, its external
 * services reachable. Runs only when the configuration parses; may call only the endpoints its
 * configuration names.
 */
export type DoctorHook<C = unknown> = (ctx: DoctorContext<C>) => DoctorCheck[] | Promise<DoctorCheck[]>

export const pass = (check: string, detail: string): DoctorCheck => ({ check, status: 'pass', detail })
export const warn = (check: string, detail: string, fix: string): DoctorCheck => ({
  check,
  status: 'warn',
  detail,
  fix,
})
export const fail = (check: string, detail: string, fix: string): DoctorCheck => ({
  check,
  status: 'fail',
  detail,
  fix,
})

/** Rejects after `ms` with a message naming what timed out. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/** The message of a thrown value, one line. */
export const reason = (err: unknown) =>
  String((err as Error)?.message ?? err)
    .split('\n')[0]!
    .trim()

/** What a plugin's doctor hook builds its checks with (`import { doctor } from core/index.ts`). */
export const doctor = { pass, warn, fail, withTimeout, reason }

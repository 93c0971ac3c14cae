/**
 * The runner of the request path: one ordered list of named stages (core/app/pipeline.ts), run
 * in order over one Exchange. A stage returns nothing or a promise; the runner awaits only when
 * it is given a promise, so a request whose stages all answer at once (token, user and counter
 * cached, a synchronous handler) is answered without a single promise.
 *
 * A stage that throws (or whose promise rejects) hands the error to `fail`, the one error mapper,
 * which decides the answer; from then on, as after a replay or a preflight, only the stages
 * marked `always` run (idempotency settle, headers, metrics/log). The envelope marks the answer
 * decided too, so an error past that point is logged by `fail` and changes nothing.
 */
import type { Exchange } from '../../http/index.ts'

export interface Stage {
  readonly name: string
  /** Runs even when the answer is already decided. */
  readonly always?: boolean
  run(x: Exchange): void | Promise<unknown>
}

export function createRunner(stages: readonly Stage[], fail: (x: Exchange, err: unknown) => void) {
  const n = stages.length

  function from(i: number, x: Exchange): Response | Promise<Response> {
    for (; i < n; i++) {
      const stage = stages[i]!
      if (x.answered && !stage.always) continue
      let wait: void | Promise<unknown>
      try {
        wait = stage.run(x)
      } catch (err) {
        fail(x, err)
        continue
      }
      if (wait !== undefined) return resume(wait, i + 1, x)
    }
    return x.response ?? lastResort(x)
  }

  function resume(wait: Promise<unknown>, next: number, x: Exchange): Promise<Response> {
    return wait.then(
      () => from(next, x),
      (err) => {
        fail(x, err)
        return from(next, x)
      },
    )
  }

  return (x: Exchange) => from(0, x)
}

/** Only if a stage after the answer was decided broke the Response itself (a bug): a bare 500. */
function lastResort(x: Exchange): Response {
  const body = { error: { code: 'INTERNAL_ERROR', message: 'Internal server error', details: { request_id: x.id } } }
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { 'content-type': 'application/json', 'x-request-id': x.id },
  })
}

/**
 * The metering hook (docs/jobs-and-events.md#metering): meter(userId, metric, value, dimensions, id?). A no-op until a
 * sink registers (the usage plugin, which buffers and writes in batches), so the hot path
 * never touches the database.
 */
export interface MeterEvent {
  userId: string
  metric: string
  value: number
  dimensions: Record<string, string>
  /** Idempotency identifier: a retried event with the same id counts once. */
  id?: string
  at: Date
}

export type MeterFn = (
  userId: string,
  metric: string,
  value?: number,
  dimensions?: Record<string, string>,
  id?: string,
) => void

export interface MeterSink {
  record(event: MeterEvent): void
  /** Called at shutdown: write whatever is buffered. */
  flush(): Promise<void>
}

export interface Meter {
  meter: MeterFn
  setSink(sink: MeterSink): void
  readonly active: boolean
  flush(): Promise<void>
}

const NO_DIMENSIONS: Record<string, string> = Object.freeze({}) as Record<string, string>

export function createMeter(): Meter {
  let sink: MeterSink | undefined
  return {
    meter(userId, metric, value = 1, dimensions = NO_DIMENSIONS, id) {
      if (!sink) return
      sink.record({ userId, metric, value, dimensions, id, at: new Date() })
    },
    setSink(s) {
      if (sink) throw new Error('a meter sink is already registered')
      sink = s
    },
    get active() {
      return sink !== undefined
    },
    flush: () => sink?.flush() ?? Promise.resolve(),
  }
}

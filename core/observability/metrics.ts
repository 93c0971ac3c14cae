/** Prometheus metrics (docs/observability.md#prometheus-metrics): request counts and latencies by route template, plus plugin metrics. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

export type MetricLabels = Record<string, string>

export interface CounterHandle {
  inc(labels?: MetricLabels, value?: number): void
}

export interface GaugeHandle {
  set(value: number, labels?: MetricLabels): void
  inc(labels?: MetricLabels, value?: number): void
  dec(labels?: MetricLabels, value?: number): void
}

export interface Metrics {
  /**
   * One request done: route is the TEMPLATE (/api/v1/app/projects/:id), never the raw path;
   * unmatched routes use 'unmatched'.
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void
  /**
   * A counter for a plugin; the prefix is added to `name`
   * (`ai_tokens_total` -> `omnistack_ai_tokens_total`).
   * Idempotent per name: a second call returns the same counter, and throws if the label names differ.
   * @example ctx.metrics.counter('contact_messages_total', 'Contact messages received').inc()
   */
  counter(name: string, help: string, labelNames?: string[]): CounterHandle
  /**
   * A gauge for a plugin, idempotent per name like `counter`. With `collect` (label-less gauges
   * only) the value is read at scrape time; a collect that throws keeps the previous value.
   */
  gauge(name: string, help: string, labelNames?: string[], collect?: () => number | Promise<number>): GaugeHandle
  /** The Prometheus text exposition of this app's registry. */
  render(): Promise<string>
  readonly contentType: string
}

export interface MetricsOptions {
  /** @default 'omnistack_' */
  prefix?: string
  /** process_* and nodejs_* metrics (CPU, memory, event-loop lag). @default true */
  defaultMetrics?: boolean
}

// Bun answers a request in well under a millisecond, so the low buckets matter as much as the tail.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

// Any other token is folded into one label value, so a client inventing methods cannot grow the series.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])

/** One (method, route, status) series: a counter and a histogram kept in plain numbers. */
interface RequestSeries {
  method: string
  status: number
  labels: string
  count: number
  sum: number
  /** Per-bucket (not cumulative) counts; the last slot is above the largest bound. */
  buckets: Float64Array
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'omnistack_'
  // A registry per app, never prom-client's global one: two apps in one process must not collide.
  const registry = new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix })

  // The request metrics are on the hot path: prom-client hashes the label object on every
  // observation, so these two are aggregated here (one Map lookup per request) and written in
  // the text format at scrape time.
  // Per route template, its few (method, status) series in a short array: a lookup allocates nothing.
  const series = new Map<string, RequestSeries[]>()
  const observeRequest = (method: string, route: string, status: number, seconds: number) => {
    const m = METHODS.has(method) ? method : '_OTHER'
    let list = series.get(route)
    if (!list) series.set(route, (list = []))
    let s: RequestSeries | undefined
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!
      if (x.status === status && x.method === m) {
        s = x
        break
      }
    }
    if (!s) {
      s = {
        method: m,
        status,
        labels: `method="${m}",route="${escapeLabel(route)}",status="${status}"`,
        count: 0,
        sum: 0,
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
      }
      list.push(s)
    }
    const v = seconds >= 0 && Number.isFinite(seconds) ? seconds : 0
    s.count++
    s.sum += v
    let i = 0
    while (i < DURATION_BUCKETS.length && v > DURATION_BUCKETS[i]!) i++
    s.buckets[i]!++
  }

  const renderRequests = () => {
    const total = `${prefix}http_requests_total`
    const hist = `${prefix}http_request_duration_seconds`
    const lines = [`# HELP ${total} HTTP requests by method, route template and status`, `# TYPE ${total} counter`]
    const all = [...series.values()].flat()
    for (const s of all) lines.push(`${total}{${s.labels}} ${s.count}`)
    lines.push(
      `# HELP ${hist} HTTP request duration in seconds by method, route template and status`,
      `# TYPE ${hist} histogram`,
    )
    for (const s of all) {
      let cumulative = 0
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!
        lines.push(`${hist}_bucket{le="${le}",${s.labels}} ${cumulative}`)
      })
      lines.push(
        `${hist}_bucket{le="+Inf",${s.labels}} ${s.count}`,
        `${hist}_sum{${s.labels}} ${s.sum}`,
        `${hist}_count{${s.labels}} ${s.count}`,
      )
    }
    return lines.join('\n') + '\n'
  }

  type Owned = { kind: 'counter' | 'gauge'; labels: string; handle: CounterHandle | GaugeHandle }
  const owned = new Map<string, Owned>()
  const lookup = (kind: 'counter' | 'gauge', name: string, labelNames: string[]) => {
    const full = name.startsWith(prefix) ? name : prefix + name
    const labels = [...labelNames].sort().join(',')
    const found = owned.get(full)
    if (found && (found.kind !== kind || found.labels !== labels)) {
      throw new Error(`metric ${full} is already a ${found.kind} with labels [${found.labels}]`)
    }
    return { full, labels, found }
  }

  return {
    observeRequest,
    counter(name, help, labelNames = []) {
      const { full, labels, found } = lookup('counter', name, labelNames)
      if (found) return found.handle as CounterHandle
      const c = new Counter({ name: full, help, labelNames, registers: [registry] })
      const handle: CounterHandle = {
        inc: (l, value = 1) => (l ? c.inc(l, value) : c.inc(value)),
      }
      owned.set(full, { kind: 'counter', labels, handle })
      return handle
    },
    gauge(name, help, labelNames = [], collect) {
      const { full, labels, found } = lookup('gauge', name, labelNames)
      if (found) return found.handle as GaugeHandle
      if (collect && labelNames.length > 0) throw new Error(`gauge ${full}: collect() needs a label-less gauge`)
      const g: Gauge = new Gauge({
        name: full,
        help,
        labelNames,
        registers: [registry],
        // A broken plugin callback must not fail the whole scrape.
        collect: collect
          ? async () => {
              try {
                g.set(await collect())
              } catch {
                // keep the previous value
              }
            }
          : undefined,
      })
      const handle: GaugeHandle = {
        set: (value, l) => (l ? g.set(l, value) : g.set(value)),
        inc: (l, value = 1) => (l ? g.inc(l, value) : g.inc(value)),
        dec: (l, value = 1) => (l ? g.dec(l, value) : g.dec(value)),
      }
      owned.set(full, { kind: 'gauge', labels, handle })
      return handle
    },
    render: async () => renderRequests() + '\n' + (await registry.metrics()),
    contentType: registry.contentType,
  }
}

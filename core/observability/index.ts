/** Observability: JSON logs, Prometheus metrics, OpenTelemetry tracing and the usage meter. */
export { createLogger, silentLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from './logger.ts'
export {
  createHealthChecks,
  type Check,
  type ComponentStatus,
  type FailureReason,
  type HealthChecks,
} from './health-checks.ts'
export { createMeter, type Meter, type MeterEvent, type MeterFn, type MeterSink } from './meter.ts'
export {
  createMetrics,
  type CounterHandle,
  type GaugeHandle,
  type MetricLabels,
  type Metrics,
  type MetricsOptions,
} from './metrics.ts'
export { createTracing, enrich, otlpTracesUrl, type RequestSpan, type Tracing, type TracingOptions } from './tracing.ts'
export {
  clientSpan,
  endSpan,
  errorTypeOf,
  serverAttributes,
  startClientSpan,
  tracedRequestActive,
} from './spans.ts'
export { traceRedis, type RedisCommandSender } from './redis-spans.ts'

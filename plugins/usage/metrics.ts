/** The nine metrics of docs/plugins/usage.md#the-nine-metrics and the dimension each one is broken down by. */
import { validation } from '../../core/index.ts'

export interface MetricInfo {
  key: string
  name: string
  description: string
  unit: string
  /** Dimension `GET /usage/breakdown` groups by unless the caller names another. */
  breakdownBy: string
}

export const METRICS = [
  {
    key: 'api_requests',
    name: 'API Requests',
    description: 'Total API requests made',
    unit: 'requests',
    breakdownBy: 'version',
  },
  { key: 'ai_tokens', name: 'AI Tokens', description: 'AI/LLM tokens consumed', unit: 'tokens', breakdownBy: 'model' },
  {
    key: 'ai_requests',
    name: 'AI Requests',
    description: 'Number of AI completion requests',
    unit: 'requests',
    breakdownBy: 'model',
  },
  {
    key: 'storage_bytes',
    name: 'Storage',
    description: 'Storage space used',
    unit: 'bytes',
    breakdownBy: 'content_type',
  },
  {
    key: 'file_uploads',
    name: 'File Uploads',
    description: 'Number of files uploaded',
    unit: 'files',
    breakdownBy: 'content_type',
  },
  {
    key: 'file_downloads',
    name: 'File Downloads',
    description: 'Number of files downloaded',
    unit: 'files',
    breakdownBy: 'content_type',
  },
  {
    key: 'websocket_messages',
    name: 'WebSocket Messages',
    description: 'WebSocket messages sent/received',
    unit: 'messages',
    breakdownBy: 'direction',
  },
  {
    key: 'background_jobs',
    name: 'Background Jobs',
    description: 'Background jobs executed',
    unit: 'jobs',
    breakdownBy: 'job',
  },
  { key: 'email_sent', name: 'Emails Sent', description: 'Emails sent', unit: 'emails', breakdownBy: 'template' },
] as const satisfies readonly MetricInfo[]

export type MetricKey = (typeof METRICS)[number]['key']

export const METRIC_KEYS = METRICS.map((m) => m.key) as MetricKey[]

const byKey = new Map<string, MetricInfo>(METRICS.map((m) => [m.key, m]))

export const metricInfo = (key: string): MetricInfo | undefined => byKey.get(key)

/** The metric named by a query, or 422 VALIDATION_ERROR naming the known ones. */
export function metricKey(value: string): MetricKey {
  if (byKey.has(value)) return value as MetricKey
  throw validation('metric', `Unknown metric "${value.slice(0, 64)}": expected one of ${METRIC_KEYS.join(', ')}`)
}

/** Label of usage recorded without the breakdown dimension. */
export const OTHER = 'other'

/**
 * Readiness checks (docs/observability.md#readiness): the core adds `database` and `cache`;
 * plugins may add their own. Readiness is public, so a failing component shows a stable reason
 * (`timeout`, `unreachable`, `error`); the driver's own text goes to the log only.
 */
import type { Logger } from './logger.ts'

export type Check = () => Promise<void>

export type ComponentStatus = { status: 'healthy' | 'unhealthy'; driver?: string; reason?: FailureReason }
export type FailureReason = 'timeout' | 'unreachable' | 'error' | 'shutting_down'

export interface HealthChecks {
  /** `driver` names what serves the component (postgres, pglite, redis, memory). */
  add(component: string, check: Check, info?: { driver?: string }): void
  run(timeoutMs?: number): Promise<{ healthy: boolean; components: Record<string, ComponentStatus> }>
  /** Shutdown has begun: readiness answers 503 from now on (component `server`, reason `shutting_down`). */
  drain(): void
}

class CheckTimeout extends Error {}

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|CONNECTION_|CONNECT_TIMEOUT|not writeable|closed|ended/i

function reasonOf(err: unknown): FailureReason {
  if (err instanceof CheckTimeout) return 'timeout'
  const text = `${(err as { code?: unknown })?.code ?? ''} ${(err as Error)?.message ?? ''}`
  return UNREACHABLE.test(text) ? 'unreachable' : 'error'
}

export function createHealthChecks(logger?: Logger): HealthChecks {
  const checks = new Map<string, { check: Check; driver?: string }>()
  let draining = false
  return {
    drain() {
      draining = true
    },
    add(component, check, info = {}) {
      checks.set(component, { check, driver: info.driver })
    },
    async run(timeoutMs = 2000) {
      const entries = await Promise.all(
        [...checks].map(async ([name, { check, driver }]) => {
          const named = driver ? { driver } : {}
          let timer: ReturnType<typeof setTimeout> | undefined
          try {
            await Promise.race([
              check(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs)
              }),
            ])
            return [name, { status: 'healthy' as const, ...named }] as const
          } catch (err) {
            const reason = reasonOf(err)
            logger?.warn('readiness check failed', { component: name, reason, error: err })
            return [name, { status: 'unhealthy' as const, ...named, reason }] as const
          } finally {
            clearTimeout(timer)
          }
        }),
      )
      const components: Record<string, ComponentStatus> = Object.fromEntries(entries)
      if (draining) components.server = { status: 'unhealthy', reason: 'shutting_down' }
      return { healthy: !draining && entries.every(([, c]) => c.status === 'healthy'), components }
    },
  }
}

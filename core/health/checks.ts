/** Readiness checks: the core adds database (and cache with Redis); plugins may add their own. */
export type Check = () => Promise<void>

export interface HealthChecks {
  add(component: string, check: Check): void
  run(timeoutMs?: number): Promise<{ healthy: boolean; components: Record<string, { status: 'healthy' | 'unhealthy'; error?: string }> }>
}

export function createHealthChecks(): HealthChecks {
  const checks = new Map<string, Check>()
  return {
    add(component, check) {
      checks.set(component, check)
    },
    async run(timeoutMs = 2000) {
      const entries = await Promise.all(
        [...checks].map(async ([name, check]) => {
          let timer: ReturnType<typeof setTimeout> | undefined
          try {
            await Promise.race([
              check(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
              }),
            ])
            return [name, { status: 'healthy' as const }] as const
          } catch (err) {
            // The component's message, not a stack: readiness is public.
            const error = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 200) : 'unavailable'
            return [name, { status: 'unhealthy' as const, error }] as const
          } finally {
            clearTimeout(timer)
          }
        }),
      )
      return { healthy: entries.every(([, c]) => c.status === 'healthy'), components: Object.fromEntries(entries) }
    },
  }
}

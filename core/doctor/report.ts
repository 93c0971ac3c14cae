/** The doctor's table for a terminal, one row per check, its fix under it. */
import type { DoctorReport } from './run.ts'

const MARK = { pass: 'pass', warn: 'WARN', fail: 'FAIL' } as const

export function formatReport(report: DoctorReport): string {
  const width = Math.max(5, ...report.checks.map((c) => c.check.length))
  const lines = report.checks.flatMap((c) => {
    const row = `${MARK[c.status]}  ${c.check.padEnd(width)}  ${c.detail}`
    return c.fix && c.status !== 'pass' ? [row, `${' '.repeat(width + 8)}fix: ${c.fix}`] : [row]
  })
  const { pass, warn, fail } = report.counts
  lines.push('', `${pass} pass, ${warn} warn, ${fail} fail`)
  return lines.join('\n')
}

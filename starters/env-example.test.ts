import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { coreConfigShape } from '../core/config/index.ts'
import { plugins } from './saas/app.ts'

const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8')
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('.env.example and README', () => {
  const names = [
    ...Object.values(coreConfigShape).map((r) => r.name),
    ...plugins.flatMap((p) => Object.values(p.config ?? {}).map((r) => (r as { name: string }).name)),
  ]

  it('lists every variable the SaaS starter reads', () => {
    const missing = names.filter((n) => !new RegExp(`^#?\\s*${n}=`, 'm').test(example))
    expect(missing).toEqual([])
  })

  it('documents every core variable in the README', () => {
    expect(
      Object.values(coreConfigShape)
        .map((r) => r.name)
        .filter((n) => !readme.includes(n)),
    ).toEqual([])
  })
})

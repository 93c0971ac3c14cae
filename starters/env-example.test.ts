/**
 * The environment docs match the declarations: each starter's .env.example is exactly what
 * scripts/env-docs.ts generates from the core's and its plugins' readers (regenerate with
 * `bun scripts/env-docs.ts --write`) and lists exactly the variables they read; the root
 * .env.example covers the SaaS starter and the README documents every core variable.
 */
import { describe, expect, it } from 'bun:test'
import { readFileSync } from 'node:fs'
import { coreConfigShape } from '../core/config/index.ts'
import { envNames, starterEnvExample, starterNames, starterPlugins } from '../scripts/env-docs.ts'

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8')
const listed = (text: string) => [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!)

describe('starters/<name>/.env.example', () => {
  it('exists for minimal, saas and helpdesk', () => {
    expect(starterNames()).toEqual(['helpdesk', 'minimal', 'saas'])
  })

  for (const starter of starterNames()) {
    it(`${starter}: is what the declarations generate`, async () => {
      expect(read(`./${starter}/.env.example`)).toBe(await starterEnvExample(starter))
    })

    it(`${starter}: lists exactly the variables of the core and its plugins, once each`, async () => {
      const expected = envNames(await starterPlugins(starter))
      const names = listed(read(`./${starter}/.env.example`))
      expect([...names].sort()).toEqual([...new Set(expected)].sort())
      expect(names.length).toBe(new Set(names).size)
    })
  }

  it('differ by the plugins: helpdesk has the tickets variables, minimal no plugin variable', async () => {
    const minimal = listed(read('./minimal/.env.example'))
    const helpdesk = listed(read('./helpdesk/.env.example'))
    const core = Object.values(coreConfigShape).map((r) => r.name)
    expect([...minimal].sort()).toEqual([...core].sort())
    expect(helpdesk.some((n) => n.startsWith('TICKETS_'))).toBe(true)
    expect(listed(read('./saas/.env.example')).some((n) => n.startsWith('TICKETS_'))).toBe(false)
  })
})

describe('root .env.example and README', () => {
  it('lists every variable the SaaS starter reads', async () => {
    const example = read('../.env.example')
    const missing = envNames(await starterPlugins('saas')).filter((n) => !new RegExp(`^#?\\s*${n}=`, 'm').test(example))
    expect(missing).toEqual([])
  })

  it('documents every core variable in the README', () => {
    const readme = read('../README.md')
    expect(
      Object.values(coreConfigShape)
        .map((r) => r.name)
        .filter((n) => !readme.includes(n)),
    ).toEqual([])
  })
})

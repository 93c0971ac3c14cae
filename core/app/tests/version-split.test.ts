/** The per-request split of /api/v<n>/... (by hand, on the hot path) agrees with the regex it replaced. */
import { describe, expect, it } from 'bun:test'
import { versionEnd } from '../stages/version.ts'

describe('versionEnd (the per-request path split, by hand)', () => {
  it('finds /api/v<digits> followed by / or the end, as the old regex did', () => {
    const regex = (p: string) => {
      const m = /^\/api\/(v\d+)(\/.*)?$/.exec(p)
      return m ? 5 + m[1]!.length : -1
    }
    for (const p of [
      '/api/v1',
      '/api/v2/app/x',
      '/api/v12/',
      '/api/v',
      '/api/v1x',
      '/api/vx/1',
      '/api',
      '/api/',
      '/apix',
      '/v1',
      '/api/v01/a',
      '/api/v1/',
      '',
    ])
      expect(`${p} ${versionEnd(p)}`).toBe(`${p} ${regex(p)}`)
  })
})

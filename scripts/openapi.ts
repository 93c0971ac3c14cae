/**
 * Writes the SaaS starter's OpenAPI document to a file: `bun scripts/openapi.ts <out.json> [v1|v2]`
 * (both versions without the second argument). Boots the app on a throwaway embedded database,
 * asks it for /openapi.json (or /openapi/{v}.json) and stops it; `npm run lint:openapi` and
 * `npm run client` use it.
 */
import { writeFileSync } from 'node:fs'
import { testApp } from '../core/testing/index.ts'
import { plugins } from '../starters/saas/app.ts'

/** The documents at the given paths (e.g. '/openapi/v2.json'), from one boot of the SaaS starter. */
export async function fetchDocuments(paths: string[]): Promise<Record<string, unknown>[]> {
  const t = await testApp({ plugins, env: { LOG_LEVEL: 'error' } })
  try {
    const docs: Record<string, unknown>[] = []
    for (const path of paths) {
      const res = await t.get(path)
      if (res.status !== 200) throw new Error(`the app answered ${res.status} for ${path}`)
      docs.push(res.body)
    }
    return docs
  } finally {
    await t.close()
  }
}

export const fetchDocument = async (version?: string) =>
  (await fetchDocuments([version ? `/openapi/${version}.json` : '/openapi.json']))[0]!

if (import.meta.main) {
  const [out, version] = process.argv.slice(2)
  if (!out || (version && !/^v[12]$/.test(version))) {
    console.error('usage: bun scripts/openapi.ts <out.json> [v1|v2]')
    process.exit(2)
  }
  writeFileSync(out, `${JSON.stringify(await fetchDocument(version), null, 2)}\n`)
  console.log(`wrote ${out}`)
  process.exit(0)
}

/**
 * `npm run lint:openapi`: boots the SaaS starter, writes /openapi.json, /openapi/v1.json and
 * /openapi/v2.json to a temporary directory and runs `redocly lint` (recommended rules, scripts/redocly.yaml)
 * on each. Exits non-zero on any error.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fetchDocuments } from './openapi.ts'

const paths = ['/openapi.json', '/openapi/v1.json', '/openapi/v2.json']
const dir = mkdtempSync(join(tmpdir(), 'omnistack-openapi-'))
let failed = false
try {
  const docs = await fetchDocuments(paths)
  const files = paths.map((p, i) => {
    const file = join(dir, p.replace(/^\//, '').replace(/\//g, '-'))
    writeFileSync(file, JSON.stringify(docs[i], null, 2))
    return file
  })
  const res = spawnSync('node_modules/.bin/redocly', ['lint', '--config', 'scripts/redocly.yaml', ...files], {
    stdio: 'inherit',
    // No telemetry and no update check: the lint runs offline in CI.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  })
  failed = res.status !== 0
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)

/** `npm run migrate`: apply the core's and an app's plugin migrations (the app module is the argument), then exit. */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadConfig, CORE_MIGRATIONS } from '../app/index.ts'
import { processEnv } from '../config/index.ts'
import { createLogger } from '../observability/index.ts'
import { bootOrder, type AnyPlugin } from '../plugin/index.ts'
import { migrate, openDatabase } from './index.ts'

const appModule = process.argv[2]
if (!appModule) {
  console.error(
    'usage: bun core/db/cli-migrate.ts <app module>   e.g. starters/saas/app.ts (npm run migrate passes it)',
  )
  console.error("The module exports `plugins`: the core's and those plugins' migrations are applied.")
  process.exit(2)
}
const mod = (await import(pathToFileURL(resolve(appModule)).href)) as { plugins: AnyPlugin[] }
const plugins = bootOrder(mod.plugins)
const { core } = loadConfig(plugins, processEnv())
const logger = createLogger({ level: core.logLevel })
const db = await openDatabase({ url: core.databaseUrl, dataDir: core.dataDir, max: 1, logger })
try {
  const { applied } = await migrate(
    db.sql,
    [CORE_MIGRATIONS, ...plugins.filter((p) => p.migrations).map((p) => ({ namespace: p.name, dir: p.migrations! }))],
    { logger },
  )
  logger.info(applied.length ? 'migrations applied' : 'database is up to date', { applied, database: db.kind })
} finally {
  await db.close()
}

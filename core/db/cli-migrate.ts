/** `npm run migrate`: apply the core's and a starter's plugin migrations, then exit. */
import { loadConfig } from '../app/config.ts'
import { CORE_MIGRATIONS } from '../app/create-app.ts'
import { processEnv } from '../config/index.ts'
import { createLogger } from '../observability/logger.ts'
import { bootOrder, type AnyPlugin } from '../plugin/index.ts'
import { migrate, openDatabase } from './index.ts'

const starter = process.argv[2] ?? 'starters/saas/app.ts'
const mod = (await import(new URL(`../../${starter}`, import.meta.url).href)) as { plugins: AnyPlugin[] }
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

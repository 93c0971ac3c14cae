/** The app factory: plugins booted in order, config checked, database migrated, the request pipeline built. */
export { createApp, CORE_MIGRATIONS, type App, type CreateAppOptions } from './create-app.ts'
export { loadConfig } from './config.ts'
export { createPipeline, type Peer, type Pipeline, type PipelineDeps, type Stage } from './pipeline.ts'

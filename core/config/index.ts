/** Configuration: env readers, the core's variables, and validation that names every bad variable. */
export * from './env.ts'
export { coreConfigShape, type CoreConfig } from './core-config.ts'

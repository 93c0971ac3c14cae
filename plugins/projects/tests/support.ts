/** Test helpers: the core's scoped test keys (core/testing), a bearer `tk_<user>~<scope,scope>` standing in for API keys. */
export { keyHeader, scopedKeys } from '../../../core/testing/index.ts'

/** Serving an app: on Bun (`serve`) or on Deno (`serveDeno`), WebSockets included. */
export { serve, type RunningServer, type ServeOptions } from './bun.ts'
export { serveDeno } from './deno.ts'

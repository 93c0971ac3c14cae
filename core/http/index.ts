/**
 * HTTP plumbing shared by the app and plugins' routers: per-request state, API versions and
 * deprecation headers, the v2 envelope and pagination, request ids, client addresses, CORS,
 * security headers and idempotency keys.
 */
export { clientIp, parseTrustedProxies, type TrustedProxies } from './client-ip.ts'
export { CORS_EXPOSE, CORS_HEADERS, CORS_METHODS, createCors, type Cors } from './cors.ts'
// envelope, idempotency, pagination and request-state are being reworked: all they export is public.
export * from './envelope.ts'
export * from './idempotency.ts'
export * from './pagination.ts'
export { jsonDepth } from './json-depth.ts'
export { isLongLived, markLongLived } from './long-lived.ts'
export { requestIdFrom } from './request-id.ts'
export * from './request-state.ts'
export { securityHeaders } from './security-headers.ts'
export { tracedFetch } from './traced-fetch.ts'
export {
  API_VERSIONS,
  headerVersion,
  isApiVersion,
  LATEST_VERSION,
  versionHeaders,
  type ApiVersion,
  type DeprecationInfo,
} from './versioning.ts'

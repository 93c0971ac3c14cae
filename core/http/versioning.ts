/** API versions: which exist, how a request picks one, and the headers each version's responses carry (docs/versioning.md). */

export const API_VERSIONS = ['v1', 'v2'] as const
export type ApiVersion = (typeof API_VERSIONS)[number]
export const LATEST_VERSION: ApiVersion = 'v2'

export const isApiVersion = (v: string): v is ApiVersion => (API_VERSIONS as readonly string[]).includes(v)

/** Version for an unversioned /api/... request: Accept-Version, then X-API-Version, then the default. */
export function headerVersion(headers: Headers, fallback: ApiVersion): string {
  const v = headers.get('accept-version') ?? headers.get('x-api-version')
  return v ? v.trim().toLowerCase() : fallback
}

export interface DeprecationInfo {
  deprecation?: Date
  sunset?: Date
}

/**
 * Headers every response of a version carries, computed once at start.
 * RFC 9745: `Deprecation: @<unix seconds>` (or `true` without a date: docs/versioning.md#deprecation);
 * RFC 8594: `Sunset: <HTTP date>`.
 */
export function versionHeaders(
  deprecated: readonly string[],
  info: Record<string, DeprecationInfo>,
): Record<ApiVersion, Record<string, string>> {
  const out = {} as Record<ApiVersion, Record<string, string>>
  for (const v of API_VERSIONS) {
    const h: Record<string, string> = { 'x-api-version': v, 'x-api-latest-version': LATEST_VERSION }
    if (deprecated.includes(v)) {
      const { deprecation, sunset } = info[v] ?? {}
      h['deprecation'] = deprecation ? `@${Math.floor(deprecation.getTime() / 1000)}` : 'true'
      if (sunset) h['sunset'] = sunset.toUTCString()
      h['x-deprecation-notice'] =
        `API ${v} is deprecated${sunset ? ` and will be removed on ${sunset.toISOString().slice(0, 10)}` : ''}. ` +
        `Please migrate to ${LATEST_VERSION}.`
      h['link'] = `</api/${LATEST_VERSION}/>; rel="successor-version"`
    }
    out[v] = h
  }
  return out
}

/** Security headers of docs/versioning.md#security-headers; HSTS only in production, where TLS is terminated in front. */
export function securityHeaders(production: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'self'",
    'referrer-policy': 'no-referrer',
  }
  if (production) h['strict-transport-security'] = 'max-age=31536000; includeSubDomains'
  return h
}

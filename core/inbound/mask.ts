/** Error text safe to store and show to admins: `Name: message`, credentials masked, bounded. */
const SECRETS: [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s:@/]+:[^\s@/]+@/gi, '$1***@'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***'],
  [/\b(sk|rk|pk|whsec)_(live_|test_)?[A-Za-z0-9]{4,}/g, '$1_***'],
  [/\b(password|passwd|secret|token|api[_-]?key)(["']?\s*[=:]\s*["']?)[^\s"',;&]+/gi, '$1$2***'],
]

export function maskSecrets(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : typeof err === 'string' ? err : String(err)
  return SECRETS.reduce((s, [re, to]) => s.replace(re, to), text).slice(0, 1000)
}

/** `url.full` of an outbound span (docs/observability.md#child-spans): no credentials, no query values. */
import { expect, it } from 'bun:test'
import { redactedUrl } from './traced-fetch.ts'

it('redacts credentials and every query value, and drops the fragment', () => {
  expect(redactedUrl(new URL('https://user:pass@api.example.com:8443/v1/x?key=sk_live_1&key=2&b=&c#frag'))).toBe(
    'https://REDACTED:REDACTED@api.example.com:8443/v1/x?key=REDACTED&b=REDACTED&c=REDACTED',
  )
  expect(redactedUrl(new URL('https://api.example.com/v1/x'))).toBe('https://api.example.com/v1/x')
})

/** Offline Swagger UI and ReDoc pages: local assets only, whitelisted, with their own CSP. */
import { describe, expect, it } from 'bun:test'
import { gunzipSync } from 'node:zlib'
import { Elysia } from 'elysia'
import { docsPages } from './docs-pages.ts'

const app = new Elysia().use(docsPages({ specPath: '/openapi.json', title: 'Test <API>' }))
const get = (path: string, headers?: Record<string, string>) =>
  app.handle(new Request(`http://localhost${path}`, { headers }))

/** Every src/href in a page, which must all be same-origin paths. */
const links = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!)

describe('docs pages', () => {
  for (const [path, assets] of [
    ['/docs', '/docs/assets/'],
    ['/redoc', '/redoc/assets/'],
  ] as const) {
    it(`${path} is an HTML page that loads only local assets`, async () => {
      const res = await get(path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toStartWith('text/html')
      const html = await res.text()
      expect(html).toContain('<title>Test &lt;API&gt;</title>')
      expect(html).not.toMatch(/https?:\/\//)
      const found = links(html)
      expect(found.length).toBeGreaterThan(0)
      for (const link of found) expect(link.startsWith(assets)).toBe(true)
      const csp = res.headers.get('content-security-policy')!
      expect(csp).toContain("script-src 'self';")
      expect(csp).not.toContain("script-src 'self' 'unsafe-inline'")
      expect(csp).not.toContain('http')
      if (path === '/redoc') {
        expect(csp).toContain('worker-src')
        expect(html).toContain('spec-url="/openapi.json"')
      }
      // Every asset the page names is actually served.
      for (const link of found) expect((await get(link)).status).toBe(200)
    })
  }

  it('serves the bundles with a JS content type, a real size and a long cache', async () => {
    for (const path of [
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/swagger-ui-standalone-preset.js',
      '/redoc/assets/redoc.standalone.js',
    ]) {
      const res = await get(path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toStartWith('application/javascript')
      expect(res.headers.get('cache-control')).toContain('immutable')
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
    }
    const css = await get('/docs/assets/swagger-ui.css')
    expect(css.headers.get('content-type')).toStartWith('text/css')
    expect((await css.text()).length).toBeGreaterThan(10_000)
  })

  it('serves an init script that points Swagger UI at the spec, without any remote validator', async () => {
    const res = await get('/docs/assets/swagger-init.js')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('application/javascript')
    const js = await res.text()
    expect(js).toContain('url: "/openapi.json"')
    expect(js).toContain('validatorUrl: null')
  })

  it('gzips the bundles for clients that accept it', async () => {
    const plain = new Uint8Array(await (await get('/redoc/assets/redoc.standalone.js')).arrayBuffer())
    const res = await get('/redoc/assets/redoc.standalone.js', { 'accept-encoding': 'gzip, br' })
    expect(res.headers.get('content-encoding')).toBe('gzip')
    const zipped = new Uint8Array(await res.arrayBuffer())
    expect(zipped.byteLength).toBeLessThan(plain.byteLength / 2)
    expect(gunzipSync(zipped).equals(Buffer.from(plain))).toBe(true)
  })

  it('answers 404 for an asset that is not on the list', async () => {
    for (const path of [
      '/docs/assets/unknown.js',
      '/docs/assets/swagger-ui-bundle.js.map',
      '/docs/assets/package.json',
      '/redoc/assets/swagger-ui-bundle.js',
      '/redoc/assets/bundles/redoc.standalone.js',
    ]) {
      expect((await get(path)).status).toBe(404)
    }
  })

  it('refuses path traversal', async () => {
    for (const path of [
      '/docs/assets/../package.json',
      '/docs/assets/..%2Fpackage.json',
      '/docs/assets/%2e%2e%2fpackage.json',
      '/redoc/assets/..%2F..%2Fpackage.json',
      '/docs/assets/..%5c..%5cpackage.json',
    ]) {
      const res = await get(path)
      expect(res.status).toBe(404)
      expect(await res.text()).not.toContain('"version"')
    }
  })

  it('has no name, so two apps in one process both get the routes', async () => {
    const a = new Elysia().use(docsPages({ specPath: '/a.json', title: 'A' }))
    const b = new Elysia().use(docsPages({ specPath: '/b.json', title: 'B' }))
    const root = new Elysia().use(a).use(b)
    expect((await root.handle(new Request('http://localhost/docs'))).status).toBe(200)
    const other = new Elysia().use(docsPages({ specPath: '/b.json', title: 'B' }))
    const res = await other.handle(new Request('http://localhost/redoc'))
    expect(await res.text()).toContain('spec-url="/b.json"')
  })

  it('keeps its own CSP when the app sets a stricter default on every response', async () => {
    const strict = new Elysia()
      .onRequest(({ set }) => {
        set.headers['content-security-policy'] = "default-src 'self'"
      })
      .use(docsPages({ specPath: '/openapi.json', title: 'T' }))
    const res = await strict.handle(new Request('http://localhost/redoc'))
    expect(res.headers.get('content-security-policy')).toContain('worker-src')
  })

  it('switches between documents: Swagger UI lists them, ReDoc renders one per ?doc= with local links', async () => {
    const versions = new Elysia().use(
      docsPages({
        specPath: '/openapi.json',
        title: 'T',
        documents: [
          { name: 'v2', url: '/openapi/v2.json' },
          { name: 'v1', url: '/openapi/v1.json' },
        ],
      }),
    )
    const at = (path: string) => versions.handle(new Request(`http://localhost${path}`))
    const init = await (await at('/docs/assets/swagger-init.js')).text()
    expect(init).toContain('"url":"/openapi/v2.json"')
    expect(init).toContain('"url":"/openapi/v1.json"')
    expect(init).toContain('\'urls.primaryName\': "v2"')
    const v2 = await (await at('/redoc')).text()
    expect(v2).toContain('spec-url="/openapi/v2.json"')
    expect(v2).toContain('href="/redoc?doc=v1"')
    const v1 = await (await at('/redoc?doc=v1')).text()
    expect(v1).toContain('spec-url="/openapi/v1.json"')
    expect(v1).toContain('href="/redoc?doc=v2"')
    for (const html of [v1, v2]) {
      expect(html).not.toMatch(/https?:\/\//)
      for (const link of links(html)) expect(link.startsWith('/')).toBe(true)
    }
    expect((await at('/redoc?doc=nope')).status).toBe(200)
  })

  it('serves a ReDoc bundle that requests no image from an outside host', async () => {
    const js = await (await get('/redoc/assets/redoc.standalone.js')).text()
    expect(js.length).toBeGreaterThan(100_000)
    expect(js).not.toContain('cdn.redoc.ly')
    expect(js).toContain('API docs by Redocly')
  })
})

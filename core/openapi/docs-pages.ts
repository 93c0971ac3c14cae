/** Swagger UI (/docs) and ReDoc (/redoc) that work offline: scripts and styles come from the npm packages. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Elysia, NotFoundError } from 'elysia'

export interface DocsPagesOptions {
  /** Where the OpenAPI document is served, e.g. '/openapi.json'. */
  specPath: string
  /** Page title. */
  title: string
  /**
   * Documents to switch between, first the default (e.g. v2 then v1). Swagger UI shows them in its
   * top bar; ReDoc renders one per page (`/redoc?doc=<name>`) with links to the others.
   */
  documents?: { name: string; url: string }[]
}

// docs/versioning.md#security-headers: the docs pages may relax CSP for their own assets only. Scripts stay 'self' (the init code
// is a served file, not inline); Swagger UI and ReDoc's styled-components need inline styles and
// data: images; ReDoc runs its search index in a worker built from a blob: URL.
const BASE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')
const SWAGGER_CSP = BASE_CSP
const REDOC_CSP = `${BASE_CSP}; worker-src 'self' blob:`

const JS = 'application/javascript; charset=utf-8'
const TYPES: Record<string, string> = { js: JS, css: 'text/css; charset=utf-8', png: 'image/png' }

interface Asset {
  type: string
  body: Uint8Array<ArrayBuffer>
  gzipped?: Uint8Array<ArrayBuffer>
}

interface Source {
  pkg: string
  /** Served name -> path inside the package. Nothing outside this list is ever read. */
  files: Record<string, string>
  /** Rewrites a file's text once, when it is first read. */
  patch?: (name: string, text: string) => string
}

const SWAGGER: Source = {
  pkg: 'swagger-ui-dist',
  files: {
    'swagger-ui-bundle.js': 'swagger-ui-bundle.js',
    'swagger-ui-standalone-preset.js': 'swagger-ui-standalone-preset.js',
    'swagger-ui.css': 'swagger-ui.css',
    'index.css': 'index.css',
    'favicon-32x32.png': 'favicon-32x32.png',
    'favicon-16x16.png': 'favicon-16x16.png',
  },
}
/**
 * ReDoc's sidebar footer always renders an <img> from cdn.redoc.ly (a blocked request and a console
 * error under our CSP, and a call to an outside host). `data:,` is no image: the component's onError
 * hides it and the "API docs by Redocly" link stays text.
 */
const REDOC_REMOTE_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg'
const REDOC: Source = {
  pkg: 'redoc',
  files: { 'redoc.standalone.js': 'bundles/redoc.standalone.js' },
  patch: (_name, text) => text.replaceAll(REDOC_REMOTE_LOGO, 'data:,'),
}

// Package files never change while the process runs, so one cache serves every app instance.
const resolveFrom = createRequire(import.meta.url)
const packages = new Map<string, { dir: string; version: string }>()
const files = new Map<string, Asset>()

function packageOf(name: string) {
  let p = packages.get(name)
  if (!p) {
    const manifest = resolveFrom.resolve(`${name}/package.json`)
    p = { dir: dirname(manifest), version: String(JSON.parse(readFileSync(manifest, 'utf8')).version) }
    packages.set(name, p)
  }
  return p
}

function packageAsset(source: Source, name: string): Asset | undefined {
  if (!Object.hasOwn(source.files, name)) return undefined
  const key = `${source.pkg}/${name}`
  let asset = files.get(key)
  if (!asset) {
    const path = join(packageOf(source.pkg).dir, source.files[name]!)
    const body = source.patch
      ? new TextEncoder().encode(source.patch(name, readFileSync(path, 'utf8')))
      : readFileSync(path)
    asset = { type: TYPES[name.slice(name.lastIndexOf('.') + 1)]!, body }
    files.set(key, asset)
  }
  return asset
}

function serveAsset(asset: Asset, request: Request): Response {
  const headers: Record<string, string> = {
    'content-type': asset.type,
    // URLs carry the package version (?v=), so a long immutable cache is safe across upgrades.
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
  }
  // The bundles are 0.2-1.7 MB; gzip (done once) cuts them to about a quarter.
  if (asset.type !== 'image/png' && /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) {
    asset.gzipped ??= gzipSync(asset.body)
    headers['content-encoding'] = 'gzip'
    return new Response(asset.gzipped, { headers })
  }
  return new Response(asset.body, { headers })
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ENTITIES[c]!)

const page = (html: string, csp: string) =>
  new Response(html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cache-control': 'no-cache',
    },
  })

const textAsset = (body: string): Asset => ({ type: JS, body: new TextEncoder().encode(body) })

/**
 * GET /docs, /docs/assets/*, /redoc, /redoc/assets/*. No `name` on purpose: a named instance
 * would be deduplicated away when two apps are built in one process (docs/performance-notes.md#named-instances-are-deduplicated).
 * @example app.use(docsPages({ specPath: '/openapi.json', title: 'OmniStack API' }))
 */
export function docsPages(options: DocsPagesOptions) {
  const title = escapeHtml(options.title)
  const documents = options.documents ?? []
  const specSource = documents.length
    ? `urls: ${JSON.stringify(documents)},\n    'urls.primaryName': ${JSON.stringify(documents[0]!.name)},`
    : `url: ${JSON.stringify(options.specPath)},`
  // The init code is a served file so script-src can stay 'self' (no 'unsafe-inline').
  const swaggerInit = textAsset(`window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    ${specSource}
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  })
})
`)
  let swaggerHtml: string | undefined
  const redocHtml = new Map<string, string>()

  const swaggerPage = () => {
    const v = `?v=${packageOf(SWAGGER.pkg).version}`
    const a = (name: string) => `/docs/assets/${name}${v}`
    return (swaggerHtml ??= `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${a('swagger-ui.css')}">
<link rel="stylesheet" href="${a('index.css')}">
<link rel="icon" type="image/png" href="${a('favicon-32x32.png')}" sizes="32x32">
<link rel="icon" type="image/png" href="${a('favicon-16x16.png')}" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${a('swagger-ui-bundle.js')}"></script>
<script src="${a('swagger-ui-standalone-preset.js')}"></script>
<script src="/docs/assets/swagger-init.js"></script>
</body>
</html>
`)
  }

  /** The ReDoc page of one document (`?doc=v1`); the first document, or specPath, by default. */
  const redocPage = (doc: string | undefined) => {
    const chosen = documents.find((d) => d.name === doc) ?? documents[0]
    const key = chosen?.name ?? ''
    let html = redocHtml.get(key)
    if (html) return html
    const specUrl = escapeHtml(chosen?.url ?? options.specPath)
    const nav = documents.length
      ? `<nav class="docs-versions">${documents
          .map((d) =>
            d === chosen
              ? `<strong>${escapeHtml(d.name)}</strong>`
              : `<a href="/redoc?doc=${encodeURIComponent(d.name)}">${escapeHtml(d.name)}</a>`,
          )
          .join(' | ')}</nav>\n`
      : ''
    html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}${chosen ? ` ${escapeHtml(chosen.name)}` : ''}</title>
<style>body { margin: 0; padding: 0; } .docs-versions { padding: 8px 16px; font: 14px sans-serif; border-bottom: 1px solid #ddd; }</style>
</head>
<body>
${nav}<redoc spec-url="${specUrl}" hide-download-button="false"></redoc>
<script src="/redoc/assets/redoc.standalone.js?v=${packageOf(REDOC.pkg).version}"></script>
</body>
</html>
`
    redocHtml.set(key, html)
    return html
  }

  const hide = { detail: { hide: true } }
  return new Elysia()
    .get('/docs', () => page(swaggerPage(), SWAGGER_CSP), hide)
    .get(
      '/docs/assets/*',
      ({ params, request }) => {
        const name = params['*']
        const asset = name === 'swagger-init.js' ? swaggerInit : packageAsset(SWAGGER, name)
        if (!asset) throw new NotFoundError()
        // The init file embeds this app's spec path, so it must not be cached as immutable.
        if (asset === swaggerInit) {
          return new Response(asset.body, { headers: { 'content-type': JS, 'cache-control': 'no-cache' } })
        }
        return serveAsset(asset, request)
      },
      hide,
    )
    .get(
      '/redoc',
      ({ query }) => page(redocPage(typeof query.doc === 'string' ? query.doc : undefined), REDOC_CSP),
      hide,
    )
    .get(
      '/redoc/assets/*',
      ({ params, request }) => {
        const asset = packageAsset(REDOC, params['*'])
        if (!asset) throw new NotFoundError()
        return serveAsset(asset, request)
      },
      hide,
    )
}

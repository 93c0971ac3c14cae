/**
 * The files `omnistack create` writes rather than copies (scripts/create-plan.ts decides when):
 * the starter's app.ts for a chosen plugin list, README.md, and this repository's .ci/run,
 * docker-compose.yml and Dockerfile fitted to the new app.
 */
import type { AnyPlugin } from '../core/index.ts'

const identifier = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** starters/<starter>/app.ts listing exactly these plugins, with the factory its server.ts imports. */
export function appModule(starter: string, factory: string, plugins: readonly AnyPlugin[]): string {
  const names = plugins.map((p) => p.name)
  return `/**
 * The ${starter} starter with the plugins chosen at \`omnistack create\` and those they require:
 * ${names.length ? names.join(', ') : 'none, the core alone'}.
 * The core orders plugins by their dependencies, so the order here is only for reading.
 */
import { type AnyPlugin, type CreateAppOptions, createApp } from '../../core/index.ts'
${names.map((n) => `import ${identifier(n)} from '../../plugins/${n}/index.ts'\n`).join('')}
export const plugins: AnyPlugin[] = [${names.map(identifier).join(', ')}]

export function ${factory}(options: Omit<CreateAppOptions, 'plugins'> = {}) {
  return createApp({ ...options, plugins })
}
`
}

export interface ReadmeInput {
  name: string
  starter: string
  plugins: readonly AnyPlugin[]
  /** Plugins copied because a chosen one requires them. */
  required: readonly string[]
  /** Plugins not copied that an installed one can use (it names them in optionalDependsOn). */
  optional: readonly string[]
}

export function readme({ name, starter, plugins, required, optional }: ReadmeInput): string {
  const rows = plugins.map(
    (p) =>
      `| [${p.name}](plugins/${p.name}/README.md) | ${p.tag?.description ?? ''}${required.includes(p.name) ? ' (required by another plugin)' : ''} |`,
  )
  const table = rows.length
    ? `| plugin | what it does |\n| --- | --- |\n${rows.join('\n')}\n`
    : 'None: the core alone (health, metrics, OpenAPI, auth, versioning, rate limits).\n'
  const more = optional.length
    ? `\nThese plugins can also use ${optional.map((n) => `\`${n}\``).join(', ')} (they name ${optional.length > 1 ? 'them' : 'it'} as optional
dependencies and work without ${optional.length > 1 ? 'them' : 'it'}); ${optional.length > 1 ? 'they are' : 'it is'} not copied. To add one, copy its folder from
OmniStack's \`plugins/\` (with the plugins it requires) and add it to the list.\n`
    : ''
  return `# ${name}

A backend on [OmniStack](docs/architecture.md), created by \`omnistack create\` from the
**${starter}** starter.

\`\`\`bash
npm install && npm start    # http://localhost:8000, embedded PostgreSQL (PGlite) in ./.data
npm test                    # the tests of the core and of these plugins, one file per process
npm run start:deno          # the same app on Deno 2
\`\`\`

Bun and Deno come from npm as devDependencies. Open <http://localhost:8000/docs> for the API
(the spec is at \`/openapi.json\`); health is \`/api/v1/public/health\`.

## Plugins

${table}${more}
The list is \`starters/${starter}/app.ts\`; \`starters/${starter}/server.ts\` serves it on Bun or Deno.
To add a plugin, put its folder under \`plugins/\` and add it to that list
([docs/writing-a-plugin.md](docs/writing-a-plugin.md)).

## Configuration

\`.env.example\` lists every variable the core and these plugins read, with its default; copy it to
\`.env\` and uncomment what you change ([docs/configuration.md](docs/configuration.md)). With
\`DATABASE_URL\` and \`REDIS_URL\` the app uses real PostgreSQL and Redis; \`docker-compose.yml\`
runs it with both ([docs/deployment.md](docs/deployment.md)).

## Scripts

| script | what it does |
| --- | --- |
| \`npm start\` / \`npm run dev\` | serve on Bun (dev: watch mode) |
| \`npm run start:deno\` | serve on Deno |
| \`npm run migrate\` | apply the migrations and exit (a start applies them too) |
| \`npm test\` | every \`*.test.ts\`, each file in its own process; \`TEST_DATABASE_URL\` and \`TEST_REDIS_URL\` run them against real servers ([docs/testing.md](docs/testing.md)) |
| \`npm run typecheck\` | tsc over the whole tree |
| \`bash .ci/run\` | what CI runs: install, type-check, the tests on the embedded defaults and on PostgreSQL + Redis |
`
}

/** .ci/run without the checks whose npm script the new app does not have, and a header that says so. */
export function ciRun(text: string, scripts: readonly string[]): string {
  const out: string[] = []
  for (const line of text.split('\n')) {
    const check = /^check "npm run ([\w:-]+)"/.exec(line)
    if (check && !scripts.includes(check[1]!)) {
      // The comment right above a dropped check describes it.
      while (out.length && out.at(-1)!.startsWith('#')) out.pop()
      continue
    }
    // The comment above check() names every tool of this repository's CI.
    if (line.startsWith('check() {')) {
      while (out.length && out.at(-1)!.startsWith('#')) out.pop()
      out.push('# Each check counts once in the final line.')
    }
    // The new app has no end-to-end `create` tests: no switch for them, nor its comment.
    if (line.startsWith('#') && /`create` tests|TEST_CREATE_E2E/.test(line)) continue
    out.push(line.replace('TEST_CREATE_E2E=0 ', ''))
  }
  const kept = out.flatMap((l) => /^check "npm run ([\w:-]+)"/.exec(l)?.[1] ?? [])
  const header = out.findIndex((l, i) => i > 0 && !l.startsWith('#'))
  return [
    out[0]!,
    "# CI of this app (OmniStack's .ci/run, fitted by `omnistack create`; docs/testing.md#ci): install,",
    `# run the checks (${kept.map((c) => `npm run ${c}`).join(', ') || 'none'}), \`npm test\` on the embedded defaults and again`,
    '# against the local PostgreSQL and Redis, validate docker-compose.yml, and end with one line:',
    '# "N passed, N failed".',
    ...out.slice(header),
  ].join('\n')
}

/**
 * docker-compose.yml for an app without the files plugin: no MinIO services, bucket job, S3
 * variables or MinIO volume (indentation-based, on the file this repository ships).
 */
export function composeFile(text: string, withFiles: boolean): string {
  if (withFiles) return text
  const lines = text.split('\n')
  const indent = (l: string) => l.length - l.trimStart().length
  const drop = new Set<number>()
  const dropBlock = (i: number) => {
    drop.add(i)
    for (let j = i + 1; j < lines.length && (lines[j]!.trim() === '' || indent(lines[j]!) > indent(lines[i]!)); j++)
      drop.add(j)
    // Comment lines right above the block describe it.
    for (let j = i - 1; j >= 0 && lines[j]!.trim().startsWith('#') && indent(lines[j]!) === indent(lines[i]!); j--)
      drop.add(j)
  }
  lines.forEach((line, i) => {
    const key = /^\s*([\w-]+):/.exec(line)?.[1]
    if (!key) return
    if (/^S3_/.test(key) || /^minio/.test(key)) dropBlock(i)
  })
  return lines
    .filter((_, i) => !drop.has(i))
    .join('\n')
    .replace(/, Redis and MinIO \(S3-compatible file storage\)/, ' and Redis')
}

/** The Dockerfile running this starter; without plugins there is no plugins/ folder to copy. */
export function dockerfile(text: string, starter: string, withPlugins: boolean): string {
  return (withPlugins ? text : text.replace(/^COPY plugins .*\n/m, ''))
    .replaceAll('starters/saas/server.ts', `starters/${starter}/server.ts`)
    .replace(/the SaaS starter/, `the ${starter} starter`)
}

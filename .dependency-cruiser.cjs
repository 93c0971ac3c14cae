/**
 * The folder layout is the architecture (docs/tooling.md), checked by `npm run depcheck`:
 * - core never imports plugins or starters;
 * - a plugin imports core only through core/index.ts, and another plugin only through its index.ts
 *   (which plugins it may import, its `dependsOn`, is checked by starters/boundaries.test.ts);
 * - starters import core and plugins through their doors; nothing imports a starter but scripts and tests;
 * - inside core, folders form layers (CORE_LAYERS, bottom to top): a folder imports only folders
 *   below it, and a sibling folder only through its index.ts;
 * - no circular imports anywhere.
 * Tests, fixtures and bench scripts are entry points: they may also use core/testing, core/runtime
 * and the door of any core folder, and are exempt from the layer order.
 * Known violations in files that are being rewritten are listed, one by one, in
 * .dependency-cruiser-known-violations.json (`--ignore-known`); fix one, then delete its entry.
 */

/** Core folders, bottom to top: a folder may import the folders before it, never after. */
const CORE_LAYERS = [
  'observability', // logger, metrics, tracing, meter: imports nothing of core
  'errors', // AppError, the code catalogue, error -> view
  'rate-limit', // rate rules, limiter, stores
  'config', // env readers, core config (parses rate rules)
  'db', // postgres.js / PGlite, migrations, paging
  'events', // event bus, Redis bridge
  'jobs', // job queue, worker, schedules
  'auth', // principals, JWT, authenticator, user directory
  'http', // request state, versioning, envelope, pagination, CORS, idempotency
  'audit', // audit log, stats
  'inbound', // inbound webhook pipeline
  'plugin', // the plugin contract: definePlugin, routers, channels
  'realtime', // WebSocket endpoints and the socket router (mounted with the plugin routers)
  'health', // the health plugin and readiness checks
  'openapi', // the OpenAPI document built from the mounted plugins
  'app', // createApp: boots everything above
  'doctor', // npm run doctor: checks the configuration an app would start with
  'runtime', // serve an app on Bun or Deno
  'testing', // test helpers: build apps, databases, services
]

const TEST = '(\\.test\\.ts$|/tests/|/fixtures/|/bench/|^bench/)'
/** Command-line entry points inside core: they may reach any layer (through doors). */
const ENTRY = '^core/db/cli-migrate\\.ts$'
const any = (names) => `^core/(${names.join('|')})/`

const layerRules = CORE_LAYERS.slice(0, -1).map((folder, i) => ({
  name: `core-layer-${folder}`,
  comment: `core/${folder} may import only the core folders below it: ${CORE_LAYERS.slice(0, i).join(', ') || 'none'}`,
  severity: 'error',
  from: { path: `^core/${folder}/`, pathNot: [TEST, ENTRY] },
  to: { path: any(CORE_LAYERS.slice(i + 1)) },
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Two modules that import each other (directly or through others) cannot be read, tested or loaded alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-to-plugins-or-starters',
      comment: 'core/ knows no plugin and no starter.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(plugins|starters)/' },
    },
    {
      name: 'core-folder-door',
      comment: 'A core folder imports a sibling folder only through its index.ts.',
      severity: 'error',
      from: { path: '^core/([^/]+)/', pathNot: TEST },
      to: { path: '^core/[^/]+/', pathNot: ['^core/$1/', '^core/[^/]+/index\\.ts$'] },
    },
    {
      name: 'core-door-reads-folder-doors',
      comment: 'core/index.ts re-exports from the folder doors, not from files behind them.',
      severity: 'error',
      from: { path: '^core/index\\.ts$' },
      to: { path: '^core/[^/]+/', pathNot: '^core/[^/]+/index\\.ts$' },
    },
    ...layerRules,
    {
      name: 'plugin-to-core-door',
      comment: 'A plugin imports core only through core/index.ts.',
      severity: 'error',
      from: { path: '^plugins/', pathNot: TEST },
      to: { path: '^core/', pathNot: '^core/index\\.ts$' },
    },
    {
      name: 'plugin-test-to-core',
      comment:
        'Plugin tests, fixtures and benches use core/index.ts, core/testing, core/runtime or a core folder door.',
      severity: 'error',
      from: { path: `^plugins/[^/]+/.*${TEST}` },
      to: { path: '^core/', pathNot: ['^core/index\\.ts$', '^core/(testing|runtime)/', '^core/[^/]+/index\\.ts$'] },
    },
    {
      name: 'plugin-to-plugin-door',
      comment:
        "A plugin imports another plugin only through that plugin's index.ts (and only one it declares in dependsOn: boundaries test).",
      severity: 'error',
      from: { path: '^plugins/([^/]+)/', pathNot: TEST },
      to: { path: '^plugins/', pathNot: ['^plugins/$1/', '^plugins/[^/]+/index\\.ts$'] },
    },
    {
      name: 'plugin-test-to-plugin',
      comment: "A plugin test uses another plugin through its index.ts, or that plugin's test helpers (fakes, sinks).",
      severity: 'error',
      from: { path: `^plugins/([^/]+)/.*${TEST}` },
      to: {
        path: '^plugins/',
        pathNot: ['^plugins/$1/', '^plugins/[^/]+/index\\.ts$', '^plugins/[^/]+/(tests|fixtures)/'],
      },
    },
    {
      name: 'no-imports-of-starters',
      comment: 'A starter is an entry point: only its own files, scripts and tests import it.',
      severity: 'error',
      from: { path: '^(core|plugins)/' },
      to: { path: '^starters/' },
    },
    {
      name: 'starter-through-doors',
      comment:
        'A starter imports core through core/index.ts (core/runtime to serve, core/testing and core doors in tests) and plugins through their index.ts.',
      severity: 'error',
      from: { path: '^starters/', pathNot: TEST },
      to: {
        path: '^(core|plugins)/',
        pathNot: [
          '^core/index\\.ts$',
          '^core/(runtime|testing)/',
          '^plugins/[^/]+/index\\.ts$',
          '^core/[^/]+/index\\.ts$',
        ],
      },
    },
    {
      name: 'starter-test-through-doors',
      comment:
        "A starter's test also uses a plugin's test helpers (the files plugin's S3-compatible test server), as plugin tests may.",
      severity: 'error',
      from: { path: `^starters/.*${TEST}` },
      to: {
        path: '^(core|plugins)/',
        pathNot: [
          '^core/index\\.ts$',
          '^core/(runtime|testing)/',
          '^plugins/[^/]+/index\\.ts$',
          '^core/[^/]+/index\\.ts$',
          '^plugins/[^/]+/(tests|fixtures)/',
        ],
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing (a typo, or a package missing from package.json).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|\\.data)/' },
    // Type-only imports count: a layer or a door is about what a file may know, not only what it loads.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Package subpath exports (csv-stringify/sync, @modelcontextprotocol/sdk/...) resolve as Bun and Node do.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    builtInModules: { add: ['bun', 'bun:test', 'bun:sqlite', 'bun:ffi'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
}

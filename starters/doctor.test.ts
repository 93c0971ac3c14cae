/**
 * `npm run doctor` (scripts/doctor.ts) run as a process against real endpoints on loopback: a
 * JWKS server, an SMTP greeting, the S3-compatible test server of the files plugin (s3rver),
 * an embedded database in a temp DATA_DIR, and closed ports for the unreachable cases.
 * Each case spawns the CLI with a clean environment; nothing here talks to the network.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3'
import { exportJWK, generateKeyPair } from 'jose'
import postgres from 'postgres'
import { S3_KEY, S3_SECRET, startTestS3, type TestS3 } from '../plugins/files/tests/s3-server.ts'

const ROOT = new URL('../', import.meta.url).pathname
const BUN = join(ROOT, 'node_modules/.bin/bun')
const DOCTOR = join(ROOT, 'scripts/doctor.ts')
const ORIGIN = 'https://app.example.test'
// Each CLI run: bun start, the starter's imports, probes bounded by --timeout 3000; an embedded
// database open takes up to about 5 s more.
const RUN_TIMEOUT_MS = 60_000

interface Check {
  check: string
  status: 'pass' | 'warn' | 'fail'
  detail: string
  fix?: string
}
interface Run {
  code: number | null
  report: { ok: boolean; checks: Check[] }
  text: string
}

const dir = mkdtempSync(join(tmpdir(), 'omnistack-doctor-'))
let s3: TestS3
let jwks: ReturnType<typeof Bun.serve>
let smtp: Server
let smtpPort = 0
let closedPort = 0

/** The doctor as a process with only `env` (plus PATH): exit code and parsed --json report. */
function doctor(env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(BUN, [DOCTOR, '--json', '--timeout', '3000', ...args], {
      cwd: dir, // no .env of the repository is read
      env: { PATH: process.env.PATH ?? '', HOME: dir, LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`doctor did not finish in ${RUN_TIMEOUT_MS} ms:\n${out}${err}`))
    }, RUN_TIMEOUT_MS)
    proc.stdout.on('data', (d) => (out += d))
    proc.stderr.on('data', (d) => (err += d))
    proc.on('exit', (code) => {
      clearTimeout(timer)
      try {
        resolve({ code, report: JSON.parse(out), text: out + err })
      } catch {
        reject(new Error(`doctor printed no JSON report (exit ${code}):\n${out}${err}`))
      }
    })
  })
}

const find = (run: Run, name: string) => {
  const c = run.report.checks.find((x) => x.check === name)
  if (!c) throw new Error(`no check "${name}" in:\n${run.text}`)
  return c
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

const base = () => ({
  DATA_DIR: join(dir, `data-${crypto.randomUUID()}`),
  AUTH_JWKS_URL: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
  CORS_ORIGINS: ORIGIN,
  SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
  S3_BUCKET: s3.bucket,
  S3_ENDPOINT: s3.endpoint,
  S3_REGION: 'us-east-1',
  S3_ACCESS_KEY_ID: S3_KEY,
  S3_SECRET_ACCESS_KEY: S3_SECRET,
  S3_FORCE_PATH_STYLE: 'true',
  STRIPE_SECRET_KEY: 'sk_test_51DoctorSampleKey0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_doctorSampleSecret0123456789',
  OPENAI_API_KEY: 'sk-doctor-sample-openai-key',
  CLERK_WEBHOOK_SECRET: `whsec_${Buffer.from('doctor-sample-svix-secret-0123').toString('base64')}`,
  ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
})

beforeAll(async () => {
  const { publicKey } = await generateKeyPair('RS256')
  const key = { ...(await exportJWK(publicKey)), kid: 'doctor', alg: 'RS256', use: 'sig' }
  jwks = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ keys: [key] }) })
  smtp = createServer((socket) => {
    socket.write('220 doctor.test ESMTP ready\r\n')
    socket.on('data', () => socket.end('221 bye\r\n'))
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r))
  smtpPort = (smtp.address() as { port: number }).port
  closedPort = await freePort()
  s3 = await startTestS3('doctor-cors')
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
  })
  await client.send(
    new PutBucketCorsCommand({
      Bucket: s3.bucket,
      CORSConfiguration: {
        CORSRules: [{ AllowedOrigins: [ORIGIN], AllowedMethods: ['PUT', 'GET'], AllowedHeaders: ['*'] }],
      },
    }),
  )
  await client.send(new CreateBucketCommand({ Bucket: 'doctor-no-cors' }))
  client.destroy()
}, 60_000)

afterAll(async () => {
  jwks?.stop(true)
  smtp?.close()
  await s3?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('doctor', () => {
  it(
    'passes a good configuration: every check pass, exit 0',
    async () => {
      const run = await doctor(base())
      expect(run.code).toBe(0)
      expect(run.report.ok).toBe(true)
      expect(run.report.checks.filter((c) => c.status !== 'pass')).toEqual([])
      for (const name of [
        'variables',
        'database',
        'auth',
        'AUTH_JWKS_URL',
        'email: SMTP_URL',
        'files: S3_BUCKET',
        'files: S3 write',
        'files: S3 CORS',
        'billing: STRIPE_SECRET_KEY',
        'billing: STRIPE_WEBHOOK_SECRET',
        'identity-webhooks: CLERK_WEBHOOK_SECRET',
        'ai: providers',
      ])
        expect(find(run, name).status).toBe('pass')
      expect(find(run, 'AUTH_JWKS_URL').detail).toContain('1 key')
      expect(find(run, 'email: SMTP_URL').detail).toContain('220 doctor.test')
      if (process.env.TEST_REDIS_URL) expect(find(run, 'redis').detail).toContain('answers PING')
      // The secrets' values never reach the report.
      expect(run.text).not.toContain('doctorSampleSecret')
      expect(run.text).not.toContain('DoctorSampleKey')
      expect(run.text).not.toContain('sample-openai-key')
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'prints a table without --json and exits 1 on a fail',
    async () => {
      const { AUTH_JWKS_URL: _, ...env } = base()
      const proc = Bun.spawn([BUN, DOCTOR, '--timeout', '3000'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const text = await new Response(proc.stdout).text()
      expect(await proc.exited).toBe(1)
      expect(text).toMatch(/^FAIL {2}auth +no token source/m)
      expect(text).toMatch(/^ +fix: set AUTH_JWKS_URL/m)
      expect(text).toMatch(/^pass {2}variables/m)
      expect(text).toMatch(/\d+ pass, \d+ warn, 1 fail$/m)
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'fails an unparsable variable, naming it, and checks nothing further',
    async () => {
      const run = await doctor({ ...base(), RATE_LIMIT_DEFAULT: 'lots', PORT: 'eighty' })
      expect(run.code).toBe(1)
      const rate = find(run, 'RATE_LIMIT_DEFAULT')
      expect(rate.status).toBe('fail')
      expect(rate.detail).toBe('Invalid RATE_LIMIT_DEFAULT: expected N/second|minute|hour|day, got "lots"')
      expect(rate.fix).toContain('set RATE_LIMIT_DEFAULT')
      expect(find(run, 'PORT').status).toBe('fail')
      expect(run.report.checks.some((c) => c.check === 'database')).toBe(false)
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'fails an unreachable database',
    async () => {
      const run = await doctor({ ...base(), DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/omnistack` })
      expect(run.code).toBe(1)
      const db = find(run, 'database')
      expect(db.status).toBe('fail')
      expect(db.detail).toContain(`127.0.0.1:${closedPort}`)
      expect(db.detail).toContain('unreachable')
      expect(db.fix).toContain('DATABASE_URL')
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'passes applied migrations and lists a pending one',
    async () => {
      // An app of one plugin with one migration, applied by `npm run migrate`'s script; then a
      // second migration file appears.
      const app = join(dir, 'probe')
      mkdirSync(join(app, 'migrations'), { recursive: true })
      writeFileSync(join(app, 'migrations/0001_probe.sql'), 'create table doctor_probe (id int primary key);\n')
      writeFileSync(
        join(app, 'app.ts'),
        `import { definePlugin } from ${JSON.stringify(join(ROOT, 'core/index.ts'))}\n` +
          `export const plugins = [definePlugin({ name: 'doctor-probe', migrations: new URL('./migrations/', import.meta.url) })]\n`,
      )
      const env = { ...base(), DATA_DIR: join(dir, 'data-probe') }
      const migrate = Bun.spawnSync([BUN, join(ROOT, 'core/db/cli-migrate.ts'), join(app, 'app.ts')], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', DATA_DIR: env.DATA_DIR },
      })
      expect(migrate.exitCode).toBe(0)

      const current = await doctor(env, ['--app', join(app, 'app.ts')])
      expect(find(current, 'database').detail).toBe('embedded PGlite answers')
      expect(find(current, 'migrations')).toMatchObject({ status: 'pass' })
      expect(current.code).toBe(0)

      writeFileSync(join(app, 'migrations/0002_probe_more.sql'), 'alter table doctor_probe add column name text;\n')
      const pending = await doctor(env, ['--app', join(app, 'app.ts')])
      expect(pending.code).toBe(1)
      const m = find(pending, 'migrations')
      expect(m.status).toBe('fail')
      expect(m.detail).toBe('1 pending: doctor-probe/0002_probe_more.sql')
      expect(m.fix).toContain('npm run migrate')
    },
    RUN_TIMEOUT_MS * 3,
  )

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'passes a PostgreSQL DATABASE_URL with every migration applied, and lists what a new plugin adds',
    async () => {
      // A fresh database on the TEST_DATABASE_URL server, migrated by `npm run migrate`'s script.
      const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} })
      const name = `omnistack_doctor_${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`
      await admin.unsafe(`create database ${name}`)
      try {
        const url = new URL(process.env.TEST_DATABASE_URL!)
        url.pathname = `/${name}`
        const env = { ...base(), DATABASE_URL: url.href }
        const migrate = Bun.spawnSync(
          [BUN, join(ROOT, 'core/db/cli-migrate.ts'), join(ROOT, 'starters/minimal/app.ts')],
          {
            cwd: dir,
            env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error', DATABASE_URL: url.href },
          },
        )
        expect(migrate.exitCode).toBe(0)
        const current = await doctor(env, ['--starter', 'minimal'])
        expect(find(current, 'database')).toMatchObject({ status: 'pass', detail: 'PostgreSQL answers' })
        expect(find(current, 'migrations').status).toBe('pass')
        expect(current.code).toBe(0)
        // The saas starter on the same database: its plugins' migrations are pending.
        const saas = await doctor(env)
        const m = find(saas, 'migrations')
        expect(m.status).toBe('fail')
        expect(m.detail).toContain('projects/0001_create_projects.sql')
        expect(m.detail).not.toContain('core/')
      } finally {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end()
      }
    },
    RUN_TIMEOUT_MS * 2,
  )

  it(
    'fails webhook secrets of the wrong form',
    async () => {
      const run = await doctor({
        ...base(),
        STRIPE_WEBHOOK_SECRET: 'sk_test_51NotAWebhookSecret',
        STRIPE_SECRET_KEY: 'pk_test_51APublishableKey',
        CLERK_WEBHOOK_SECRET: 'my-clerk-secret',
      })
      expect(run.code).toBe(1)
      const stripe = find(run, 'billing: STRIPE_WEBHOOK_SECRET')
      expect(stripe.status).toBe('fail')
      expect(stripe.fix).toContain('whsec_')
      expect(find(run, 'billing: STRIPE_SECRET_KEY')).toMatchObject({ status: 'fail' })
      const clerk = find(run, 'identity-webhooks: CLERK_WEBHOOK_SECRET')
      expect(clerk.status).toBe('fail')
      expect(clerk.detail).toContain('whsec_')
      expect(run.text).not.toContain('NotAWebhookSecret')
      expect(run.text).not.toContain('my-clerk-secret')
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'fails an S3 bucket without a CORS rule for CORS_ORIGINS',
    async () => {
      const run = await doctor({ ...base(), S3_BUCKET: 'doctor-no-cors' })
      expect(run.code).toBe(1)
      expect(find(run, 'files: S3_BUCKET').status).toBe('pass')
      expect(find(run, 'files: S3 write').status).toBe('pass')
      const cors = find(run, 'files: S3 CORS')
      expect(cors.status).toBe('fail')
      expect(cors.detail).toContain(ORIGIN)
      expect(cors.fix).toContain('AllowedMethods PUT')
      // Another origin than the rule's is refused too.
      const other = await doctor({ ...base(), CORS_ORIGINS: 'https://other.example.test' })
      expect(find(other, 'files: S3 CORS').status).toBe('fail')
    },
    RUN_TIMEOUT_MS * 2,
  )

  it(
    'fails an unreachable JWKS URL',
    async () => {
      const run = await doctor({ ...base(), AUTH_JWKS_URL: `http://127.0.0.1:${closedPort}/jwks.json` })
      expect(run.code).toBe(1)
      const j = find(run, 'AUTH_JWKS_URL')
      expect(j.status).toBe('fail')
      expect(j.detail).toContain('unreachable')
      expect(j.fix).toContain('AUTH_JWKS_URL')
    },
    RUN_TIMEOUT_MS,
  )

  it(
    'fails a JWKS URL that answers without keys, an SMTP server that does not greet, trust in every proxy, an unreachable Redis, a default AI provider without a key',
    async () => {
      const empty = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ keys: [] }) })
      try {
        const run = await doctor({
          ...base(),
          AUTH_JWKS_URL: `http://127.0.0.1:${empty.port}/jwks.json`,
          SMTP_URL: `smtp://127.0.0.1:${closedPort}`,
          TRUSTED_PROXIES: '0.0.0.0/0',
          REDIS_URL: `redis://127.0.0.1:${closedPort}`,
          AI_DEFAULT_PROVIDER: 'anthropic',
        })
        expect(run.code).toBe(1)
        expect(find(run, 'AUTH_JWKS_URL').detail).toContain('no keys')
        expect(find(run, 'email: SMTP_URL').status).toBe('fail')
        expect(find(run, 'TRUSTED_PROXIES').status).toBe('fail')
        expect(find(run, 'redis')).toMatchObject({ status: 'fail' })
        expect(find(run, 'redis').fix).toContain('REDIS_URL')
        expect(find(run, 'ai: AI_DEFAULT_PROVIDER')).toMatchObject({ status: 'fail' })
      } finally {
        empty.stop(true)
      }
    },
    RUN_TIMEOUT_MS,
  )
})

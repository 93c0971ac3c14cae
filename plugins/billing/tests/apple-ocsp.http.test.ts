/**
 * APPLE_ONLINE_CHECKS=true: the App Store chain is checked for revocation against real `openssl ocsp`
 * responders (one per issuing CA, the root's through a delegated OCSP-signing certificate), reached
 * through a small proxy that counts requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import type { TestApp } from '../../../core/testing/index.ts'
import { freePort } from '../../../core/testing/services.ts'
import { createOcspChecker, OcspError, ocspRequest, ocspUrl } from '../providers/apple-ocsp.ts'
import {
  appleNotification,
  createCa,
  INTERMEDIATE_OID,
  ocspIndex,
  signJws,
  startOcspResponder,
  type AppleChain,
  type OcspResponder,
} from './fakes/apple-ca.ts'
import { billingApp, countEvents } from './support.ts'

const DAY = 86_400_000
const HOUR = 3_600_000

let ca: ReturnType<typeof createCa>
let t: TestApp
let rootFile: string
let proxy: ReturnType<typeof Bun.serve>
let downPort: number
const responders: OcspResponder[] = []
/** Requests the proxy received, by route. */
const hits: Record<string, number> = {}
const total = () => Object.values(hits).reduce((a, b) => a + b, 0)
/** Route → port of the openssl responder behind it. */
const upstream: Record<string, number> = {}
const via = (route: string) => `http://127.0.0.1:${proxy.port}/${route}`

type Made = ReturnType<ReturnType<typeof createCa>['cert']>
let root: Made
let int1: Made
let int2: Made
const leaves = {} as Record<
  'good' | 'revoked' | 'down' | 'http500' | 'garbage' | 'noAia' | 'rogue' | 'noEku' | 'badsig' | 'offline' | 'ofInt2',
  AppleChain & { leaf: Made }
>

beforeAll(async () => {
  proxy = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const route = new URL(req.url).pathname.slice(1)
      hits[route] = (hits[route] ?? 0) + 1
      if (route === 'http500') return new Response('busy', { status: 500 })
      if (route === 'garbage')
        return new Response(Uint8Array.of(0x30, 0x03, 0x0a, 0x01), {
          headers: { 'content-type': 'application/ocsp-response' },
        })
      const res = await fetch(`http://127.0.0.1:${upstream[route]}/`, {
        method: 'POST',
        headers: { 'content-type': req.headers.get('content-type') ?? '' },
        body: await req.arrayBuffer(),
      })
      return new Response(await res.arrayBuffer(), {
        status: res.status,
        headers: { 'content-type': res.headers.get('content-type') ?? '' },
      })
    },
  })
  downPort = await freePort()
  ca = createCa()
  root = ca.cert({ cn: 'Test Apple Root CA - G3', ca: true })
  const rootResponder = ca.cert({ cn: 'Test Apple Root OCSP Responder', parent: root, ca: false, eku: 'OCSPSigning' })
  int1 = ca.cert({
    cn: 'Test Apple Worldwide Developer Relations',
    parent: root,
    ca: true,
    oid: INTERMEDIATE_OID,
    ocspUrl: via('root'),
  })
  int2 = ca.cert({
    cn: 'Test Apple Worldwide Developer Relations 2',
    parent: root,
    ca: true,
    oid: INTERMEDIATE_OID,
    ocspUrl: via('root'),
  })
  const leaf = (leafOcsp: string | undefined, intermediate = int1) =>
    ca.chain({ root, intermediate, leafOcsp }) as AppleChain & { leaf: Made }
  leaves.good = leaf(via('int'))
  leaves.revoked = leaf(via('int'))
  leaves.down = leaf(`http://127.0.0.1:${downPort}/`)
  leaves.http500 = leaf(via('http500'))
  leaves.garbage = leaf(via('garbage'))
  leaves.noAia = leaf(undefined)
  leaves.rogue = leaf(via('rogue'))
  leaves.noEku = leaf(via('noeku'))
  leaves.badsig = leaf(via('badsig'))
  leaves.offline = leaf(via('int'))
  leaves.ofInt2 = leaf(via('int2'), int2)
  const int1Leaves = ocspIndex([
    ...(['good', 'down', 'rogue', 'noEku', 'badsig', 'offline'] as const).map((k) => ({ cert: leaves[k].leaf })),
    { cert: leaves.revoked.leaf, revokedAt: new Date(Date.now() - HOUR) },
  ])
  const start = async (route: string, o: Omit<Parameters<typeof startOcspResponder>[1], 'port'>) => {
    upstream[route] = await freePort()
    responders.push(await startOcspResponder(ca, { port: upstream[route]!, ...o }))
  }
  await Promise.all([
    // The root's answers come from a delegated responder certificate (OCSPSigning EKU) and carry nextUpdate.
    start('root', {
      issuer: root,
      signer: rootResponder,
      index: ocspIndex([{ cert: int1 }, { cert: int2, revokedAt: new Date(Date.now() - HOUR) }]),
      args: ['-nmin', '60'],
    }),
    // The intermediate signs its own answers, without nextUpdate.
    start('int', { issuer: int1, signer: int1, index: int1Leaves }),
    start('int2', { issuer: int2, signer: int2, index: ocspIndex([{ cert: leaves.ofInt2.leaf }]) }),
    start('rogue', { issuer: int1, signer: ca.cert({ cn: 'Rogue responder', ca: true }), index: int1Leaves }),
    start('noeku', {
      issuer: int1,
      signer: ca.cert({ cn: 'Responder without EKU', parent: int1, ca: false }),
      index: int1Leaves,
    }),
    start('badsig', { issuer: int1, signer: int1, index: int1Leaves, args: ['-badsig'] }),
  ])
  rootFile = join(ca.dir, 'trusted-root.pem')
  writeFileSync(rootFile, root.pem)
  t = await billingApp({ APPLE_BUNDLE_ID: 'com.example.app', APPLE_ROOT_CA_PEM: rootFile, APPLE_ONLINE_CHECKS: 'true' })
})

afterAll(async () => {
  await t?.close()
  await Promise.all(responders.map((r) => r.stop()))
  proxy?.stop(true)
  ca?.close()
})

const post = (app: TestApp, body: unknown) => app.request('POST', '/api/v1/public/webhooks/apple', { body })
const tokenOf = async (user: string) =>
  (await t.as(user).get('/api/v1/app/billing/status')).body.app_account_token as string
const status = async (user: string) => (await t.as(user).get('/api/v1/app/billing/status')).body

function transaction(token: string | undefined, original: string) {
  return {
    transactionId: `${original}-${Math.random().toString(36).slice(2, 8)}`,
    originalTransactionId: original,
    productId: 'com.example.app.pro.monthly',
    purchaseDate: Date.now() - DAY,
    expiresDate: Date.now() + 30 * DAY,
    ...(token ? { appAccountToken: token } : {}),
  }
}

const subscribed = (chain: AppleChain, token: string | undefined, original: string) =>
  appleNotification(chain, {
    type: 'SUBSCRIBED',
    transaction: transaction(token, original),
    renewal: { autoRenewStatus: 1, originalTransactionId: original },
  })

/** Posts a notification signed by `chain` and expects it refused (400, nothing stored) for `reason`. */
async function expectRefused(chain: AppleChain, reason: string) {
  const before = await countEvents(t, 'apple')
  const res = await post(t, {
    signedPayload: (await subscribed(chain, undefined, `refused-${Math.random()}`)).signedPayload,
  })
  expect(res.status).toBe(400)
  expect(res.body.error.code).toBe('BAD_REQUEST')
  expect(res.body.error.details.reason).toContain(reason)
  expect(await countEvents(t, 'apple')).toBe(before)
}

describe('apple webhook with APPLE_ONLINE_CHECKS=true', () => {
  it('accepts a good chain after one OCSP round trip per certificate, then answers from the cache', async () => {
    const token = await tokenOf('alice')
    const int = hits.int ?? 0
    const rootHits = hits.root ?? 0
    // Notification, signed transaction and signed renewal: three JWS by one chain.
    const res = await post(t, { signedPayload: (await subscribed(leaves.good, token, '2000000001')).signedPayload })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect(await status('alice')).toMatchObject({ plan: 'pro', status: 'active', source: 'apple' })
    expect([hits.int! - int, hits.root! - rootHits]).toEqual([1, 1])
    const again = await appleNotification(leaves.good, {
      type: 'DID_RENEW',
      signedDate: Date.now() + 1000,
      transaction: transaction(token, '2000000001'),
    })
    expect((await post(t, { signedPayload: again.signedPayload })).body).toEqual({
      received: true,
      duplicate: false,
      status: 'applied',
    })
    expect([hits.int! - int, hits.root! - rootHits]).toEqual([1, 1])
  })

  it('refuses a revoked leaf (400, nothing stored)', async () => {
    await expectRefused(leaves.revoked, 'OCSP check of the leaf certificate: certificate revoked')
  })

  it('refuses a revoked intermediate', async () => {
    await expectRefused(leaves.ofInt2, 'OCSP check of the intermediate certificate: certificate revoked')
  })

  it('refuses a revoked leaf inside a genuine notification (the signed transaction is checked too)', async () => {
    const token = await tokenOf('bob')
    const before = await countEvents(t, 'apple')
    const genuine = await appleNotification(leaves.good, {
      type: 'SUBSCRIBED',
      transaction: transaction(token, '2000000002'),
    })
    const claims = JSON.parse(Buffer.from(genuine.signedPayload.split('.')[1]!, 'base64url').toString())
    const revokedTx = await signJws(leaves.revoked, {
      bundleId: 'com.example.app',
      environment: 'Sandbox',
      signedDate: Date.now(),
      ...transaction(token, '2000000002'),
    })
    const envelope = await signJws(leaves.good, {
      ...claims,
      data: { ...claims.data, signedTransactionInfo: revokedTx },
    })
    const res = await post(t, { signedPayload: envelope })
    expect(res.status).toBe(400)
    expect(res.body.error.details.reason).toContain('certificate revoked')
    expect(await countEvents(t, 'apple')).toBe(before)
    expect((await status('bob')).has_active_subscription).toBe(false)
  })

  it('answers 503 and stores nothing while a responder is unreachable; the redelivery is then accepted', async () => {
    const token = await tokenOf('carol')
    const before = await countEvents(t, 'apple')
    const n = await subscribed(leaves.down, token, '2000000003')
    const res = await post(t, { signedPayload: n.signedPayload })
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE')
    expect(res.body.error.details.reason).toContain('OCSP check of the leaf certificate: cannot reach')
    const busy = await post(t, { signedPayload: (await subscribed(leaves.http500, token, '2000000003')).signedPayload })
    expect(busy.status).toBe(503)
    expect(busy.body.error.details.reason).toContain('HTTP 500')
    expect(await countEvents(t, 'apple')).toBe(before)
    // The responder comes back; Apple redelivers the same notification.
    responders.push(
      await startOcspResponder(ca, {
        port: downPort,
        issuer: int1,
        signer: int1,
        index: ocspIndex([{ cert: leaves.down.leaf }]),
      }),
    )
    const redelivered = await post(t, { signedPayload: n.signedPayload })
    expect(redelivered.body).toEqual({ received: true, duplicate: false, status: 'applied' })
    expect((await status('carol')).has_active_subscription).toBe(true)
  })

  it('refuses answers it cannot trust: unrelated signer, delegated signer without OCSPSigning, bad signature, malformed', async () => {
    await expectRefused(leaves.rogue, 'signed by a certificate the issuer did not issue')
    await expectRefused(leaves.noEku, 'lacks the OCSPSigning extended key usage')
    await expectRefused(leaves.badsig, 'not signed by the issuer or an authorised responder')
    await expectRefused(leaves.garbage, 'malformed OCSP response')
  })

  it('refuses a certificate that names no OCSP responder', async () => {
    await expectRefused(leaves.noAia, 'the certificate names no OCSP responder')
  })

  it('sends no OCSP request when APPLE_ONLINE_CHECKS is unset', async () => {
    const offline = await billingApp({ APPLE_BUNDLE_ID: 'com.example.app', APPLE_ROOT_CA_PEM: rootFile })
    try {
      const before = total()
      const res = await post(offline, {
        signedPayload: (await subscribed(leaves.offline, undefined, '2000000004')).signedPayload,
      })
      expect(res.status).toBe(200)
      expect(res.body.received).toBe(true)
      expect(total()).toBe(before)
    } finally {
      await offline.close()
    }
  })
})

describe('OCSP client', () => {
  it('builds the same DER request as `openssl ocsp -no_nonce`', () => {
    const mine = join(ca.dir, 'mine.der')
    writeFileSync(mine, ocspRequest(leaves.good.leaf.x509, int1.x509))
    const r = spawnSync(
      'openssl',
      ['ocsp', '-issuer', int1.file, '-cert', leaves.good.leaf.file, '-no_nonce', '-reqout', 'theirs.der'],
      { cwd: ca.dir, encoding: 'utf8' },
    )
    expect(r.status).toBe(0)
    expect(Buffer.from(readFileSync(mine)).equals(readFileSync(join(ca.dir, 'theirs.der')))).toBe(true)
    const text = spawnSync('openssl', ['ocsp', '-reqin', mine, '-req_text'], { encoding: 'utf8' }).stdout
    expect(text).toContain('Hash Algorithm: sha1')
    expect(text).toContain(`Serial Number: ${leaves.good.leaf.x509.serialNumber.toUpperCase()}`)
  })

  it('reads the responder URL from Authority Information Access', () => {
    expect(ocspUrl(leaves.good.leaf.x509)).toBe(via('int'))
    expect(ocspUrl(int1.x509)).toBe(via('root'))
    expect(ocspUrl(leaves.noAia.leaf.x509)).toBeUndefined()
  })

  it('shares one request between concurrent checks, caches until min(nextUpdate, 15 min), and is bounded', async () => {
    const checker = createOcspChecker({ maxEntries: 1 })
    const before = hits.root ?? 0
    await Promise.all([checker.check(int1.x509, root.x509), checker.check(int1.x509, root.x509)])
    expect(hits.root! - before).toBe(1)
    await checker.check(int1.x509, root.x509, new Date(Date.now() + 14 * 60_000))
    expect(hits.root! - before).toBe(1)
    await checker.check(int1.x509, root.x509, new Date(Date.now() + 16 * 60_000))
    expect(hits.root! - before).toBe(2)
    // One entry at most: checking another certificate evicts the first.
    await checker.check(leaves.good.leaf.x509, int1.x509)
    await checker.check(int1.x509, root.x509)
    expect(hits.root! - before).toBe(3)
  })

  it('refuses a stale or not yet valid answer', async () => {
    const checker = createOcspChecker()
    // The root responder's answers are valid 60 minutes (-nmin 60).
    const stale = await checker.check(int1.x509, root.x509, new Date(Date.now() + 2 * HOUR)).catch((e) => e)
    expect(stale).toBeInstanceOf(OcspError)
    expect(stale.reason).toContain('stale')
    const early = await checker.check(leaves.good.leaf.x509, int1.x509, new Date(Date.now() - HOUR)).catch((e) => e)
    expect(early.reason).toContain('not yet valid')
  })

  it('gives up after its timeout as unavailable, never caching the failure', async () => {
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1')
    await new Promise((r) => silent.once('listening', r))
    const port = (silent.address() as { port: number }).port
    const fake = async (_url: string | URL | Request, init?: RequestInit) => fetch(`http://127.0.0.1:${port}/`, init)
    try {
      const checker = createOcspChecker({ timeoutMs: 200, fetch: fake as typeof fetch })
      const started = performance.now()
      const err = await checker.check(leaves.good.leaf.x509, int1.x509).catch((e) => e)
      expect(err).toBeInstanceOf(OcspError)
      expect(err.kind).toBe('unavailable')
      expect(err.reason).toContain('within 200 ms')
      expect(performance.now() - started).toBeLessThan(2000)
      expect(sockets.length).toBe(1)
      await checker.check(leaves.good.leaf.x509, int1.x509).catch(() => {})
      expect(sockets.length).toBe(2)
    } finally {
      sockets.forEach((s) => s.destroy())
      silent.close()
    }
  })

  it('takes one local round trip in a few milliseconds', async () => {
    const direct = createOcspChecker({
      fetch: ((_url: unknown, init?: RequestInit) => fetch(`http://127.0.0.1:${upstream.int}/`, init)) as typeof fetch,
    })
    const started = performance.now()
    await direct.check(leaves.good.leaf.x509, int1.x509)
    const ms = performance.now() - started
    console.log(`one OCSP round trip to openssl ocsp on localhost: ${ms.toFixed(1)} ms`)
    expect(ms).toBeLessThan(1000)
  })
})

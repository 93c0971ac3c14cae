/** A local CA hierarchy made with openssl (root, intermediate and leaf with Apple's marker OIDs, optional OCSP responders), `openssl ocsp` responders, and App Store JWS signed with jose. */
import { spawn, spawnSync } from 'node:child_process'
import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompactSign } from 'jose'

export const LEAF_OID = '1.2.840.113635.100.6.11.1'
export const INTERMEDIATE_OID = '1.2.840.113635.100.6.2.1'

export interface Cert {
  pem: string
  der: string
  key: KeyObject
}

export interface AppleChain {
  leaf: Cert
  intermediate: Cert
  root: Cert
}

function openssl(dir: string, args: string[]) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`)
}

/** Makes certificates in a temporary folder; `cert()` signs with a parent (or self-signs). */
export function createCa() {
  const dir = mkdtempSync(join(tmpdir(), 'apple-ca-'))
  let n = 0
  const cert = (opts: {
    cn: string
    parent?: Cert & { file: string; keyFile: string }
    ca: boolean
    oid?: string
    days?: number
    ocspUrl?: string
    eku?: string
  }) => {
    const name = `c${n++}`
    openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`])
    const ext = [
      opts.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE',
      opts.ca ? 'keyUsage=critical,keyCertSign,cRLSign' : 'keyUsage=critical,digitalSignature',
      'subjectKeyIdentifier=hash',
      ...(opts.oid ? [`${opts.oid}=ASN1:NULL`] : []),
      ...(opts.ocspUrl ? [`authorityInfoAccess=OCSP;URI:${opts.ocspUrl}`] : []),
      ...(opts.eku ? [`extendedKeyUsage=${opts.eku}`] : []),
    ].join('\n')
    writeFileSync(join(dir, `${name}.ext`), ext + '\n')
    const days = String(opts.days ?? 3650)
    if (!opts.parent) {
      openssl(dir, [
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${opts.cn}/O=Test`,
        '-days',
        days,
        '-out',
        `${name}.pem`,
        '-extensions',
        'v3',
        '-config',
        writeConfig(dir, name, ext),
      ])
    } else {
      openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${opts.cn}/O=Test`, '-out', `${name}.csr`])
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        opts.parent.file,
        '-CAkey',
        opts.parent.keyFile,
        '-set_serial',
        String(1000 + n),
        '-days',
        days,
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ])
    }
    const pem = readFileSync(join(dir, `${name}.pem`), 'utf8')
    const x509 = new X509Certificate(pem)
    return {
      pem,
      der: x509.raw.toString('base64'),
      x509,
      subj: `/CN=${opts.cn}/O=Test`,
      key: createPrivateKey(readFileSync(join(dir, `${name}.key`))),
      file: `${name}.pem`,
      keyFile: `${name}.key`,
    }
  }
  /**
   * A full chain; options drop a marker OID or shorten the leaf's life, reuse a root or an
   * intermediate, and name OCSP responders (authorityInfoAccess) in the leaf and the intermediate.
   */
  const chain = (
    o: {
      root?: ReturnType<typeof cert>
      intermediate?: ReturnType<typeof cert>
      leafOid?: boolean
      intermediateOid?: boolean
      leafDays?: number
      leafOcsp?: string
      intermediateOcsp?: string
    } = {},
  ) => {
    const root = o.root ?? cert({ cn: 'Test Apple Root CA - G3', ca: true })
    const intermediate =
      o.intermediate ??
      cert({
        cn: 'Test Apple Worldwide Developer Relations',
        parent: root,
        ca: true,
        oid: o.intermediateOid === false ? undefined : INTERMEDIATE_OID,
        ocspUrl: o.intermediateOcsp,
      })
    const leaf = cert({
      cn: 'Test Prod ECC Mac App Store and iTunes Store Receipt Signing',
      parent: intermediate,
      ca: false,
      oid: o.leafOid === false ? undefined : LEAF_OID,
      days: o.leafDays,
      ocspUrl: o.leafOcsp,
    })
    return { root, intermediate, leaf }
  }
  return { cert, chain, dir, close: () => rmSync(dir, { recursive: true, force: true }) }
}

type Made = ReturnType<ReturnType<typeof createCa>['cert']>

/** `YYMMDDHHMMSSZ`, the time format of openssl's index.txt. */
const indexTime = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'

/** An openssl CA database (index.txt): a V line per good certificate, an R line per revoked one. */
export function ocspIndex(entries: { cert: Made; revokedAt?: Date }[]): string {
  return (
    entries
      .map(({ cert, revokedAt }) => {
        const expires = indexTime(new Date(cert.x509.validTo))
        return [
          revokedAt ? 'R' : 'V',
          expires,
          revokedAt ? `${indexTime(revokedAt)},keyCompromise` : '',
          cert.x509.serialNumber.toUpperCase(),
          'unknown',
          cert.subj,
        ].join('\t')
      })
      .join('\n') + '\n'
  )
}

export interface OcspResponder {
  port: number
  /** Everything openssl wrote (stdout and stderr). */
  output(): string
  stop(): Promise<void>
}

/**
 * A real `openssl ocsp` responder on `port` for the certificates `issuer` signed, as listed in
 * `index` (see ocspIndex), signing with `signer` (the issuer itself or a delegated responder).
 * `args` adds options (`-nmin 60`, `-badsig` ...).
 */
export async function startOcspResponder(
  ca: ReturnType<typeof createCa>,
  o: { port: number; issuer: Made; signer: Made; index: string; args?: string[] },
): Promise<OcspResponder> {
  const indexFile = join(ca.dir, `index-${o.port}.txt`)
  writeFileSync(indexFile, o.index)
  // Several test certificates share a subject.
  writeFileSync(`${indexFile}.attr`, 'unique_subject = no\n')
  const args = [
    'ocsp',
    '-index',
    indexFile,
    '-port',
    String(o.port),
    '-rsigner',
    o.signer.file,
    '-rkey',
    o.signer.keyFile,
    '-CA',
    o.issuer.file,
    '-ignore_err',
    ...(o.args ?? []),
  ]
  const proc = spawn('openssl', args, { cwd: ca.dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (b) => (out += b))
  proc.stderr.on('data', (b) => (out += b))
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  // Ready once it says so: a probe connection that sends nothing wedges the single-threaded responder.
  const end = Date.now() + 10_000
  while (!out.includes('waiting for OCSP client connections')) {
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill()
      throw new Error(`openssl ocsp did not start: ${out}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    port: o.port,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill()
      await exited
    },
  }
}

function writeConfig(dir: string, name: string, ext: string) {
  const file = join(dir, `${name}.cnf`)
  writeFileSync(file, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${ext}\n`)
  return file
}

/** A compact JWS as Apple signs it: ES256 with the chain in x5c (leaf, intermediate, root). */
export async function signJws(chain: AppleChain, payload: Record<string, unknown>, x5c?: string[]): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', x5c: x5c ?? [chain.leaf.der, chain.intermediate.der, chain.root.der] })
    .sign(chain.leaf.key)
}

export interface NotificationInput {
  type: string
  subtype?: string
  uuid?: string
  signedDate?: number
  bundleId?: string
  environment?: string
  status?: number
  transaction?: Record<string, unknown>
  renewal?: Record<string, unknown>
}

/** `{signedPayload}` of an App Store Server Notification v2, with signed transaction and renewal info. */
export async function appleNotification(chain: AppleChain, n: NotificationInput, x5c?: string[]) {
  const signedDate = n.signedDate ?? Date.now()
  const bundleId = n.bundleId ?? 'com.example.app'
  const environment = n.environment ?? 'Sandbox'
  const transaction = n.transaction
    ? await signJws(
        chain,
        { bundleId, environment, signedDate, type: 'Auto-Renewable Subscription', ...n.transaction },
        x5c,
      )
    : undefined
  const renewal = n.renewal ? await signJws(chain, { environment, signedDate, ...n.renewal }, x5c) : undefined
  const payload = {
    notificationType: n.type,
    ...(n.subtype ? { subtype: n.subtype } : {}),
    notificationUUID: n.uuid ?? randomUUID(),
    version: '2.0',
    signedDate,
    data: {
      appAppleId: 1234567890,
      bundleId,
      bundleVersion: '1',
      environment,
      ...(n.status ? { status: n.status } : {}),
      signedTransactionInfo: transaction,
      signedRenewalInfo: renewal,
    },
  }
  return { signedPayload: await signJws(chain, payload, x5c), uuid: payload.notificationUUID }
}

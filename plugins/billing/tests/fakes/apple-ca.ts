/** A local CA hierarchy made with openssl (root, intermediate and leaf with Apple's marker OIDs) and App Store JWS signed with jose. */
import { spawnSync } from 'node:child_process'
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
  const cert = (opts: { cn: string; parent?: Cert & { file: string; keyFile: string }; ca: boolean; oid?: string; days?: number }) => {
    const name = `c${n++}`
    openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`])
    const ext = [
      opts.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE',
      opts.ca ? 'keyUsage=critical,keyCertSign,cRLSign' : 'keyUsage=critical,digitalSignature',
      'subjectKeyIdentifier=hash',
      ...(opts.oid ? [`${opts.oid}=ASN1:NULL`] : []),
    ].join('\n')
    writeFileSync(join(dir, `${name}.ext`), ext + '\n')
    const days = String(opts.days ?? 3650)
    if (!opts.parent) {
      openssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${opts.cn}/O=Test`, '-days', days, '-out', `${name}.pem`, '-extensions', 'v3', '-config', writeConfig(dir, name, ext)])
    } else {
      openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${opts.cn}/O=Test`, '-out', `${name}.csr`])
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', opts.parent.file, '-CAkey', opts.parent.keyFile, '-set_serial', String(1000 + n), '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.pem`])
    }
    const pem = readFileSync(join(dir, `${name}.pem`), 'utf8')
    return {
      pem,
      der: new X509Certificate(pem).raw.toString('base64'),
      key: createPrivateKey(readFileSync(join(dir, `${name}.key`))),
      file: `${name}.pem`,
      keyFile: `${name}.key`,
    }
  }
  /** A full chain; options drop a marker OID or shorten the leaf's life. */
  const chain = (o: { root?: ReturnType<typeof cert>; leafOid?: boolean; intermediateOid?: boolean; leafDays?: number } = {}) => {
    const root = o.root ?? cert({ cn: 'Test Apple Root CA - G3', ca: true })
    const intermediate = cert({ cn: 'Test Apple Worldwide Developer Relations', parent: root, ca: true, oid: o.intermediateOid === false ? undefined : INTERMEDIATE_OID })
    const leaf = cert({ cn: 'Test Prod ECC Mac App Store and iTunes Store Receipt Signing', parent: intermediate, ca: false, oid: o.leafOid === false ? undefined : LEAF_OID, days: o.leafDays })
    return { root, intermediate, leaf }
  }
  return { cert, chain, dir, close: () => rmSync(dir, { recursive: true, force: true }) }
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
    ? await signJws(chain, { bundleId, environment, signedDate, type: 'Auto-Renewable Subscription', ...n.transaction }, x5c)
    : undefined
  const renewal = n.renewal ? await signJws(chain, { environment, signedDate, ...n.renewal }, x5c) : undefined
  const payload = {
    notificationType: n.type,
    ...(n.subtype ? { subtype: n.subtype } : {}),
    notificationUUID: n.uuid ?? randomUUID(),
    version: '2.0',
    signedDate,
    data: { appAppleId: 1234567890, bundleId, bundleVersion: '1', environment, ...(n.status ? { status: n.status } : {}), signedTransactionInfo: transaction, signedRenewalInfo: renewal },
  }
  return { signedPayload: await signJws(chain, payload, x5c), uuid: payload.notificationUUID }
}

/** HMAC signatures of the local driver's URLs: file id, key, size, type and expiry, checked in constant time. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface SignedFields {
  op: 'PUT' | 'GET'
  id: string
  key: string
  size: number
  type: string
  /** Unix seconds. */
  expires: number
}

export interface Signer {
  sign(fields: SignedFields): string
  verify(fields: SignedFields, signature: string): boolean
}

export function createSigner(secret: string): Signer {
  // JSON of a fixed tuple: no field can absorb a separator and shift the others.
  const mac = (f: SignedFields) =>
    createHmac('sha256', secret)
      .update(JSON.stringify([f.op, f.id, f.key, f.size, f.type, f.expires]))
      .digest()
  return {
    sign: (f) => mac(f).toString('base64url'),
    verify(f, signature) {
      const expected = mac(f)
      const given = Buffer.from(signature, 'base64url')
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}

/**
 * FILES_SIGNING_SECRET, else a random key kept in `${dataDir}/files-signing.key` (0600). The
 * local driver keeps its files in DATA_DIR, so replicas that share the files share the key too.
 * `file` names another key kept the same way (the tickets plugin's CSAT key).
 */
export function loadSigningSecret(dataDir: string, configured?: string, file = 'files-signing.key'): string {
  if (configured) return configured
  const path = join(dataDir, file)
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(dataDir, { recursive: true })
  try {
    writeFileSync(path, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 })
  } catch (err) {
    // Another replica or process wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return readFileSync(path, 'utf8').trim()
}

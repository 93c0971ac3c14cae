/** Reference ids handed to senders: `CNT-` + 8 uppercase letters or digits from a CSPRNG. */
import { randomBytes } from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
export const REFERENCE_PATTERN = /^CNT-[A-Z0-9]{8}$/

/** Uniform over the 36 symbols: bytes >= 252 (7 * 36) are dropped instead of folded (no modulo bias). */
export function newReferenceId(): string {
  let out = 'CNT-'
  while (out.length < 12) {
    for (const b of randomBytes(12)) {
      if (b < 252 && out.length < 12) out += ALPHABET[b % 36]
    }
  }
  return out
}

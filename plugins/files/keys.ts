/** Object keys and file names: `uploads/{user_id}/{file_id}/{safe filename}` that never leaves its prefix (docs/plugins/files.md). */

// C0/C1 controls, zero-width and bidirectional overrides (a name that reads as "gpj.exe").
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g
// Path separators and the characters Windows, shells and HTTP headers trip over.
const RESERVED = /[/\\<>:"|?*]/g
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i
const EXTENSION = /\.[\p{L}\p{N}]{1,16}$/u

/** Longest file name kept in a key, in UTF-8 bytes (S3 keys may hold 1024, file systems 255). */
export const MAX_NAME_BYTES = 200

const utf8 = new TextEncoder()
const bytes = (s: string) => utf8.encode(s).length

/** Cuts `s` to at most `max` UTF-8 bytes on a code point boundary, keeping a short extension. */
function truncate(s: string, max: number): string {
  if (bytes(s) <= max) return s
  const ext = EXTENSION.exec(s)?.[0] ?? ''
  const stem = Array.from(s.slice(0, s.length - ext.length))
  while (stem.length && bytes(stem.join('') + ext) > max) stem.pop()
  return (stem.join('').trimEnd() || 'file') + ext
}

/**
 * A file name safe as one key segment and one path component: separators become `_`, control
 * and invisible characters go, leading dots go (no `..`, no hidden files), over-long names are
 * cut keeping the extension, and nothing becomes `file`.
 * @example safeFilename('../../etc/passwd') // '_.._etc_passwd'
 */
export function safeFilename(name: string, maxBytes = MAX_NAME_BYTES): string {
  let s = name.normalize('NFC').replace(INVISIBLE, '').replace(RESERVED, '_').replace(/\s+/g, ' ')
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '')
  if (WINDOWS_DEVICE.test(s)) s = `_${s}`
  return truncate(s || 'file', maxBytes) || 'file'
}

/**
 * A user id (the JWT `sub`, any string) as one key segment: unreserved characters stay, the
 * rest is percent-encoded, so `a/b` or `..` can never add or climb a level.
 */
export function userSegment(userId: string): string {
  const s = userId.replace(/[^A-Za-z0-9_.@+=-]/gu, (c) => {
    try {
      return encodeURIComponent(c)
    } catch {
      return '_' // a lone surrogate
    }
  })
  return /^\.*$/.test(s) ? s.replace(/\./g, '%2E') || '_' : s
}

/** `uploads/{user_id}/{file_id}/{safe filename}` (docs/plugins/files.md). */
export const objectKey = (userId: string, fileId: string, filename: string) =>
  `uploads/${userSegment(userId)}/${fileId}/${safeFilename(filename)}`

/** The last segment of a key: the name a download is saved under. */
export const keyFilename = (key: string) => key.slice(key.lastIndexOf('/') + 1) || 'file'

/** `Content-Disposition: attachment` with an ASCII fallback and the exact name (RFC 6266). */
export function attachment(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`
}

/** `text/plain; charset=utf-8` -> `text/plain`. */
export const mediaType = (contentType: string | null | undefined) =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase()

/** `FILES_ALLOWED_TYPES` entries: exact types, `type/*` or `*\/*`; an empty list allows any. */
export function typeAllowed(contentType: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true
  const type = mediaType(contentType)
  return allowed.some((a) => {
    const p = a.toLowerCase()
    return p === '*/*' || p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1)))
  })
}

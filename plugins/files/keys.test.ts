/** Safe file names, object keys, media types and Content-Disposition. */
import { describe, expect, it } from 'bun:test'
import { attachment, mediaType, objectKey, safeFilename, typeAllowed, userSegment } from './keys.ts'

describe('safeFilename', () => {
  it('turns separators into underscores and drops leading dots', () => {
    expect(safeFilename('../../etc/passwd')).toBe('_.._etc_passwd')
    expect(safeFilename('/etc/passwd')).toBe('_etc_passwd')
    expect(safeFilename('..\\..\\win.ini')).toBe('_.._win.ini')
    expect(safeFilename('.env')).toBe('env')
  })

  it('never returns an empty, dot-only or device name', () => {
    for (const name of ['', '.', '..', '...', '   ', '\u0000\u0001']) expect(safeFilename(name)).toBe('file')
    expect(safeFilename('CON.txt')).toBe('_CON.txt')
    expect(safeFilename('nul')).toBe('_nul')
  })

  it('removes control, zero-width and bidi characters and collapses spaces', () => {
    expect(safeFilename('a\r\nb\tc.txt')).toBe('abc.txt')
    expect(safeFilename('\u202egnp.exe')).toBe('gnp.exe')
    expect(safeFilename('my    report .pdf')).toBe('my report .pdf')
  })

  it('keeps Unicode names and cuts over-long ones on a code point, keeping the extension', () => {
    expect(safeFilename('résumé 履歴書.pdf')).toBe('résumé 履歴書.pdf')
    const long = safeFilename(`${'履'.repeat(300)}.tar.gz`)
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(200)
    expect(long.endsWith('.gz')).toBe(true)
    expect(long.startsWith('履')).toBe(true)
  })
})

describe('object keys', () => {
  it('builds uploads/{user_id}/{file_id}/{safe filename}', () => {
    expect(objectKey('user_123', 'abc123', 'document.pdf')).toBe('uploads/user_123/abc123/document.pdf')
  })

  it('encodes user ids so that they stay one segment', () => {
    expect(userSegment('auth0|123')).toBe('auth0%7C123')
    expect(userSegment('a/b')).toBe('a%2Fb')
    expect(userSegment('..')).toBe('%2E%2E')
    expect(userSegment('user@example.com')).toBe('user@example.com')
    expect(objectKey('../x', 'id', '../y').split('/')).toEqual(['uploads', '..%2Fx', 'id', '_y'])
  })
})

describe('content types', () => {
  it('compares media types without parameters or case', () => {
    expect(mediaType('Text/Plain; charset=utf-8')).toBe('text/plain')
    expect(mediaType(null)).toBe('')
  })

  it('matches exact types and type/* patterns; an empty list allows any', () => {
    expect(typeAllowed('image/png', [])).toBe(true)
    expect(typeAllowed('image/png', ['image/*'])).toBe(true)
    expect(typeAllowed('application/pdf', ['image/*', 'application/pdf'])).toBe(true)
    expect(typeAllowed('text/html', ['image/*', 'application/pdf'])).toBe(false)
    expect(typeAllowed('imagex/png', ['image/*'])).toBe(false)
    expect(typeAllowed('text/html', ['*/*'])).toBe(true)
  })
})

describe('attachment', () => {
  it('gives an ASCII fallback and the exact UTF-8 name', () => {
    expect(attachment('a "b".txt')).toBe(`attachment; filename="a _b_.txt"; filename*=UTF-8''a%20%22b%22.txt`)
    expect(attachment('résumé.pdf')).toBe(`attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`)
  })
})

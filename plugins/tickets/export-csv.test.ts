/**
 * csvLines (export-csv.ts) quotes only the free-text cells, through csv-stringify one cell at a
 * time: its output must be exactly csv-stringify's for the whole records (RFC 4180, CRLF), with
 * the formula cells neutralised, whatever the cells hold.
 */
import { describe, expect, it } from 'bun:test'
import { stringify } from 'csv-stringify/sync'
import { CSV_COLUMNS, csvHeader, csvLines, type CsvRecord } from './export-csv.ts'

const TRICKY = [
  '',
  'plain',
  'a,b',
  'say "hi"',
  '"',
  ',',
  'line\nbreak',
  'carriage\rreturn',
  'crlf\r\nend',
  ' leading space',
  'trailing space ',
  '=1+1',
  '+x',
  '-x',
  '@x',
  '\tx',
  '\rx',
  "'already",
  'ünïcödé, "quoted"\n',
  'semi;colon',
]
const pick = (i: number) => TRICKY[i % TRICKY.length]!

/** A record as PostgreSQL prints it: safe cells fixed, free-text cells from TRICKY (or null). */
function record(i: number): CsvRecord {
  return [
    '7f1c9a52-58f4-4f0e-9d43-0f4a0b7c2e11',
    String(i + 1),
    pick(i),
    'open',
    'normal',
    pick(i + 3),
    i % 4 === 0 ? null : pick(i + 7),
    i % 2 ? null : '0b6e7c1d-2f3a-4c5b-8d9e-1a2b3c4d5e6f',
    pick(i + 11),
    '2026-12-05T09:00:00.123Z',
    i % 3 ? null : '2026-12-05T09:05:00.000Z',
    null,
    null,
    i % 5 ? 'false' : 'true',
  ]
}

const FORMULA = /^[=+\-@\t\r]/
/** The reference: the library over whole records, the free-text cells neutralised first. */
function reference(records: CsvRecord[]): string {
  const neutral = records.map((r) => r.map((v, i) => ([2, 5, 6, 8].includes(i) && v && FORMULA.test(v) ? `'${v}` : v)))
  return stringify(neutral, { record_delimiter: '\r\n', quoted_match: /[\r\n]/, eof: true })
}

describe('csvLines', () => {
  it("equals csv-stringify's output for whole records, over every mix of tricky cells", () => {
    const records = Array.from({ length: 400 }, (_, i) => record(i))
    const expected = reference(records)
    expect(csvLines(records.map((r) => [...r]))).toBe(expected)
    // Spot checks of the reference itself, so the two cannot agree on something wrong.
    expect(expected).toContain('"a,b"')
    expect(expected).toContain('"say ""hi"""')
    expect(expected).toContain('"line\nbreak"')
    expect(expected).toContain('"carriage\rreturn"')
    expect(expected).toContain("'=1+1,")
    expect(expected).toContain('"\'\rx"')
  })

  it('gives an empty batch no text, and the header exactly', () => {
    expect(csvLines([])).toBe('')
    expect(csvHeader()).toBe(`${CSV_COLUMNS.join(',')}\r\n`)
  })
})

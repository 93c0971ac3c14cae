/** What a database span records of a statement (docs/observability.md#child-spans): literals out, structure in. */
import { describe, expect, it } from 'bun:test'
import { collectionOf, firstKeyword, sanitize } from './traced.ts'

describe('statement text of database spans', () => {
  it('replaces string, escaped, dollar-quoted and numeric literals with ?', () => {
    expect(sanitize("select * from users where email = 'a@b.c' and n > 42 and x = -1.5e3")).toBe(
      'select * from users where email = ? and n > ? and x = ?',
    )
    expect(sanitize("select 'it''s', E'a\\nb', e'it\\'s', $$body$$, $tag$ 'x' $tag$")).toBe('select ?, ?, ?, ?, ?')
  })

  it('keeps placeholders, identifiers with digits and quoted names', () => {
    expect(sanitize('select t1.c2 from "table3" t1 where id = $1 limit $2')).toBe(
      'select t1.c2 from "table3" t1 where id = $1 limit $2',
    )
  })

  it('names the operation and the first table', () => {
    expect(firstKeyword('  /* c */ -- x\n (select 1)')).toBe('SELECT')
    expect(firstKeyword('insert into t values ($1)')).toBe('INSERT')
    expect(collectionOf('select * from public.users u join teams t on true')).toBe('public.users')
    expect(collectionOf('insert into "Notes" (a) values ($1)')).toBe('"Notes"')
    expect(collectionOf('update jobs set x = 1')).toBe('jobs')
    expect(collectionOf('select 1')).toBeUndefined()
  })
})

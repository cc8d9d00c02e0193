import { describe, expect, it } from 'vitest'
import { compareTables, quoteIdent, quoteLiteral, quoteTable } from './sql.js'

describe('SQL quoting', () => {
  it('always quotes identifiers and doubles embedded quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"')
    expect(quoteIdent('Big "Deals"')).toBe('"Big ""Deals"""')
    expect(quoteTable({ schema: 'Sales Dept', table: 'a.b' })).toBe('"Sales Dept"."a.b"')
    expect(() => quoteIdent('')).toThrow(/empty/)
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/)
  })

  it('quotes literals by doubling single quotes', () => {
    expect(quoteLiteral(`it's`)).toBe(`'it''s'`)
    expect(quoteLiteral('"a","b"')).toBe(`'"a","b"'`)
  })

  it('orders tables by schema, then table', () => {
    const tables = [
      { schema: 'b', table: 'a' },
      { schema: 'a', table: 'z' },
      { schema: 'a', table: 'B' },
    ]
    expect([...tables].sort(compareTables)).toEqual([
      { schema: 'a', table: 'B' },
      { schema: 'a', table: 'z' },
      { schema: 'b', table: 'a' },
    ])
  })
})

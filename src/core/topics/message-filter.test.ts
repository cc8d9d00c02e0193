import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../errors.js'
import { parseMessageFilter } from './message-filter.js'

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

describe('message filters', () => {
  it('matches plain text as a substring; null never matches', () => {
    const f = parseMessageFilter('ord', ['query', 'value_filter'])
    expect(f(buf('an order'))).toBe(true)
    expect(f(buf('nothing'))).toBe(false)
    expect(f(null)).toBe(false)
  })

  it('matches a JSON path against JSON or text', () => {
    expect(parseMessageFilter('$.after.id=42', [])(buf({ after: { id: 42 } }))).toBe(true)
    expect(parseMessageFilter('$.after.id=42', [])(buf({ after: { id: 43 } }))).toBe(false)
    expect(parseMessageFilter('$.after.id=42', [])(buf({ after: { id: '42' } }))).toBe(false)
    expect(parseMessageFilter('$.op=c', [])(buf({ op: 'c' }))).toBe(true)
    expect(parseMessageFilter('$.op="c"', [])(buf({ op: 'c' }))).toBe(true)
    expect(parseMessageFilter('$.tags.1=b', [])(buf({ tags: ['a', 'b'] }))).toBe(true)
    expect(parseMessageFilter('$.a={"b":[1,2]}', [])(buf({ a: { b: [1, 2] } }))).toBe(true)
    expect(parseMessageFilter('$=7', [])(buf(7))).toBe(true)
    expect(parseMessageFilter('$.missing=null', [])(buf({}))).toBe(false)
    expect(parseMessageFilter('$.x=1', [])(buf('not json'))).toBe(false)
  })

  it('rejects an empty filter as invalid input', () => {
    expect(() => parseMessageFilter('', ['query', 'key_filter'])).toThrow(InvalidInputError)
  })
})

import { describe, expect, it } from 'vitest'
import { type DestinationRecord, ExactInteger } from '../destination.js'
import { FlatObjectScanner } from '../flat-json.js'
import { copyRows, flatCopyChunks, flatCopyRows } from './copy-rows.js'

describe('copyRows', () => {
  it('writes a tab-separated line per row, with COPY escapes and \\N for null or missing values', () => {
    const text = copyRows(['id', 'name', 'ok', 'n'], new Set(), [
      { id: 1, name: 'a\tb\nc\rd\\e', ok: true, n: null },
      { id: 2, name: 'plain ünïcode', ok: false },
    ])
    expect(text).toBe('1\ta\\tb\\nc\\rd\\\\e\ttrue\t\\N\n2\tplain ünïcode\tfalse\t\\N\n')
  })

  it('writes exact integers as their digits, and numbers as JavaScript prints them', () => {
    expect(copyRows(['a', 'b', 'c'], new Set(), [{ a: new ExactInteger('9007199254740993'), b: 1.5, c: -0.25 }])).toBe('9007199254740993\t1.5\t-0.25\n')
  })

  it('writes objects and arrays as JSON into json columns, escaped for COPY', () => {
    expect(copyRows(['doc'], new Set(['doc']), [{ doc: { k: 'x\ty', a: [1, 2] } }, { doc: '{"already":"text"}' }])).toBe(
      '{"k":"x\\\\ty","a":[1,2]}\n{"already":"text"}\n',
    )
  })

  it('refuses what the regular path would write differently', () => {
    // jsonb prints 1e21 in full into a text column; JavaScript prints an exponent.
    expect(copyRows(['n'], new Set(), [{ n: 1 }, { n: 1e21 }])).toBeNull()
    expect(copyRows(['n'], new Set(), [{ n: 1e-7 }])).toBeNull()
    // Arrays and objects outside json columns become PostgreSQL arrays and composites on the regular path.
    expect(copyRows(['tags'], new Set(), [{ tags: ['a'] }])).toBeNull()
    expect(copyRows(['doc'], new Set(['other']), [{ doc: { k: 1 } }])).toBeNull()
  })

  it('writes nothing for no rows', () => {
    expect(copyRows(['id'], new Set(), [])).toBe('')
  })
})

describe('flatCopyChunks', () => {
  it('writes what flatCopyRows writes for the whole batch, a slice of records at a time', () => {
    const scanner = new FlatObjectScanner()
    const records = Array.from({ length: 2500 }, (_, i) => {
      const text = Buffer.from(`{"id":${i},"s":"a\\tb ${i}","n":${i / 4}}`)
      const after = scanner.scan(text, 0, text.length)
      if (after === null) throw new Error(`not flat: ${text}`)
      return { flat: { keyColumns: ['id'], after, envelope: null } } as unknown as DestinationRecord
    })
    const chunks = [...flatCopyChunks(records, '\tfalse', 1000)]
    expect(chunks.map((c) => c.toString().split('\n').length - 1)).toEqual([1000, 1000, 500])
    expect(Buffer.concat(chunks).toString()).toBe(flatCopyRows(records, '\tfalse').toString())
    expect(chunks[0].toString().split('\n')[3]).toBe('3\ta\\tb 3\t0.75\tfalse')
  })
})

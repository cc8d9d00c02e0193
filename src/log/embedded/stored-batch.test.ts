import { describe, expect, it } from 'vitest'
import { BatchCursor, BatchEncoder, type BatchRow, rewriteBatch } from './stored-batch.js'

interface Plain {
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: string | null
}

function decode(baseOffset: number, data: Buffer): Plain[] {
  const out: Plain[] = []
  const cursor = new BatchCursor(baseOffset, data)
  while (cursor.next()) {
    const text = (b: Buffer | null) => (b === null ? null : b.toString())
    out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: text(cursor.key), value: text(cursor.value),
      headers: text(cursor.headers) })
    expect(cursor.size).toBe([cursor.key, cursor.value, cursor.headers].reduce((n, b) => n + (b?.length ?? 0), 0))
  }
  return out
}

function encode(records: Plain[], initialBytes?: number): BatchRow {
  const encoder = new BatchEncoder(initialBytes)
  const bytes = (s: string | null) => (s === null ? null : Buffer.from(s))
  for (const r of records) encoder.add(r.offset, r.timestamp, bytes(r.key), bytes(r.value), bytes(r.headers))
  return { id: 1, ...encoder.cut() }
}

const records: Plain[] = [
  { offset: 1_000_000_000_000, timestamp: 1_700_000_000_123, key: 'k', value: 'välue ✓', headers: '{"h":"v"}' },
  { offset: 1_000_000_000_001, timestamp: 5, key: null, value: null, headers: null },
  { offset: 1_000_000_000_002, timestamp: 0, key: '', value: '', headers: null },
  // A gap, as compaction leaves, and a timestamp going backwards.
  { offset: 1_000_000_000_009, timestamp: 4, key: 'x'.repeat(70_000), value: 'y', headers: null },
]

describe('stored batches', () => {
  it('round-trips records: nulls apart from empty values, headers, gaps, large offsets, growth', () => {
    const row = encode(records, 16)
    expect(row).toMatchObject({
      baseOffset: 1_000_000_000_000,
      lastOffset: 1_000_000_000_009,
      records: 4,
      maxTimestamp: 1_700_000_000_123,
    })
    expect(row.bytes).toBe(1 + 10 + 9 + 70_001) // 'välue ✓' is 10 bytes in UTF-8
    expect(decode(row.baseOffset, row.data)).toEqual(records)
  })

  it('rewrites a row without the dropped records, re-basing its offsets, or to nothing', () => {
    const row = encode(records)
    const kept = rewriteBatch(row, (offset) => offset === records[0].offset || offset === records[2].offset)
    expect(kept).toMatchObject({ baseOffset: records[1].offset, lastOffset: records[3].offset, records: 2,
      bytes: 70_001, maxTimestamp: 5 })
    expect(decode(kept!.baseOffset, kept!.data)).toEqual([records[1], records[3]])
    expect(rewriteBatch(row, () => true)).toBeNull()
  })
})

import { describe, expect, it } from 'vitest'
import { BatchCursor, BatchEncoder, type BatchRow, rewriteBatch } from './stored-batch.js'

interface Plain {
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: string | null
}

function decode(baseOffset: number, data: Buffer, payload: Buffer | null = null): Plain[] {
  const out: Plain[] = []
  const cursor = new BatchCursor(baseOffset, data, payload)
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

  describe('value frames', () => {
    const envelope = (n: number) => ({ prefix: Buffer.from(`{"before":null,"after":`), suffix: Buffer.from(`,"source":{"ts_ms":${n}},"op":"r"}`) })

    it('stores each frame once per row and reads whole values back, sizes counting the frames', () => {
      const first = envelope(1)
      const second = envelope(2)
      const encoder = new BatchEncoder(16)
      const expected: Array<{ value: string | null; body: string | null }> = []
      for (let i = 0; i < 300; i++) {
        const frame = i === 299 ? undefined : i < 150 ? first : second
        const body = `{"id":${i}}`
        encoder.add(10 + i, 1000 + i, Buffer.from(`${i}`), Buffer.from(body), null, frame)
        expected.push({ body, value: frame ? `${frame.prefix}${body}${frame.suffix}` : body })
      }
      const row = encoder.cut()
      const wholeBytes = expected.reduce((n, e, i) => n + Buffer.byteLength(`${i}`) + Buffer.byteLength(e.value ?? ''), 0)
      expect(row.bytes).toBe(wholeBytes)
      // Both frames once, not 299 times.
      expect(row.data.length).toBeLessThan(wholeBytes - 250 * first.prefix.length)
      const cursor = new BatchCursor(row.baseOffset, row.data)
      const frames = new Set<unknown>()
      let i = 0
      while (cursor.next()) {
        expect(cursor.offset).toBe(10 + i)
        expect(cursor.value?.toString()).toBe(expected[i].value)
        expect(cursor.body?.toString()).toBe(expected[i].body)
        expect(cursor.size).toBe(Buffer.byteLength(`${i}`) + Buffer.byteLength(expected[i].value ?? ''))
        if (cursor.valueFrame) frames.add(cursor.valueFrame)
        i++
      }
      expect(i).toBe(300)
      expect(frames.size).toBe(2)
    })

    it('keeps frames through a rewrite, and cuts rows that each carry the frames their records use', () => {
      const frame = envelope(3)
      const encoder = new BatchEncoder()
      const big = 'x'.repeat(1000)
      encoder.add(0, 1, null, Buffer.from(big), null, frame)
      encoder.add(1, 2, Buffer.from('k'), Buffer.from('b'), Buffer.from('{"h":"1"}'), frame)
      const firstRow = { id: 1, ...encoder.cut() }
      encoder.add(2, 3, null, Buffer.from('c'), null, frame)
      const secondRow = { id: 2, ...encoder.cut() }
      const whole = (body: string) => `${frame.prefix}${body}${frame.suffix}`
      expect(decode(secondRow.baseOffset, secondRow.data).map((r) => r.value)).toEqual([whole('c')])
      const kept = rewriteBatch(firstRow, (offset) => offset === 0)
      expect(kept).toMatchObject({ records: 1, bytes: 1 + whole('b').length + 9 })
      expect(decode(kept!.baseOffset, kept!.data)).toEqual([{ offset: 1, timestamp: 2, key: 'k', value: whole('b'), headers: '{"h":"1"}' }])
      expect(kept!.data.length).toBeLessThan(200) // the dropped 1,000-byte value is gone, the frame kept once
    })

    it('reads rows written before frames (format 1: 24-byte record headers, no row header)', () => {
      // offset delta 0, timestamp 7, key "k", value "v1", no headers; then delta 2, a null key and value.
      const record = (delta: number, timestamp: number, key: string | null, value: string | null) => {
        const header = Buffer.alloc(24)
        header.writeUInt32LE(delta, 0)
        header.writeDoubleLE(timestamp, 4)
        header.writeInt32LE(key === null ? -1 : key.length, 12)
        header.writeInt32LE(value === null ? -1 : value.length, 16)
        header.writeInt32LE(-1, 20)
        return Buffer.concat([header, Buffer.from(key ?? ''), Buffer.from(value ?? '')])
      }
      const data = Buffer.concat([record(0, 7, 'k', 'v1'), record(2, 8, null, null)])
      expect(decode(40, data)).toEqual([
        { offset: 40, timestamp: 7, key: 'k', value: 'v1', headers: null },
        { offset: 42, timestamp: 8, key: null, value: null, headers: null },
      ])
    })
  })

  describe('format 3 (a packed append: record headers in the blob, their bytes in the payload)', () => {
    /** The records packed back to back, as a packed append holds them: key, value, key, value… */
    function packed(list: Plain[]): { source: Buffer; at: number[] } {
      const parts: Buffer[] = []
      const at: number[] = []
      let position = 0
      for (const r of list) {
        at.push(position)
        for (const text of [r.key, r.value]) {
          if (text === null) continue
          parts.push(Buffer.from(text))
          position += Buffer.byteLength(text)
        }
      }
      return { source: Buffer.concat(parts), at }
    }
    const length = (text: string | null) => (text === null ? -1 : Buffer.byteLength(text))
    const unheadered: Plain[] = records.map((r) => ({ ...r, headers: null }))

    it('round-trips records whose bytes lie back to back, the payload a view of their buffer', () => {
      const { source, at } = packed(unheadered)
      const encoder = new BatchEncoder(16, true)
      unheadered.forEach((r, i) => encoder.addRange(r.offset, r.timestamp, source, at[i], length(r.key),
        at[i] + Math.max(length(r.key), 0), length(r.value)))
      const row = encoder.cut()
      expect(row.data.readUInt32LE(0)).toBe(0xfffffffe)
      expect(row.payload?.buffer).toBe(source.buffer)
      expect(row.payload?.length).toBe(source.length)
      expect(row.data.length).toBeLessThan(200) // headers only
      expect(row.bytes).toBe(1 + 10 + 70_001)
      expect(decode(row.baseOffset, row.data, row.payload)).toEqual(unheadered)
    })

    it('joins the pieces of records that do not follow each other, keeps headers and frames, and cuts rows', () => {
      const frame = { prefix: Buffer.from('{"after":'), suffix: Buffer.from(',"op":"r"}') }
      const { source, at } = packed(unheadered)
      const encoder = new BatchEncoder(16, true)
      // Backwards through the buffer: no record continues the one before it.
      const order = [3, 1, 0, 2]
      order.forEach((k, i) => encoder.addRange(100 + i, k, source, at[k], length(unheadered[k].key),
        at[k] + Math.max(length(unheadered[k].key), 0), length(unheadered[k].value), k === 0 ? frame : undefined))
      encoder.add(104, 9, Buffer.from('hk'), Buffer.from('hv'), Buffer.from('{"h":"1"}'))
      const first = encoder.cut()
      encoder.addRange(105, 10, source, at[0], 1, at[0] + 1, length(unheadered[0].value))
      const second = encoder.cut()
      expect(first.payload?.buffer).not.toBe(source.buffer)
      const expected: Plain[] = order.map((k, i) => ({ ...unheadered[k], offset: 100 + i, timestamp: k,
        value: k === 0 ? `${frame.prefix}${unheadered[k].value}${frame.suffix}` : unheadered[k].value }))
      expected.push({ offset: 104, timestamp: 9, key: 'hk', value: 'hv', headers: '{"h":"1"}' })
      expect(decode(first.baseOffset, first.data, first.payload)).toEqual(expected)
      expect(decode(second.baseOffset, second.data, second.payload)).toEqual([{ ...unheadered[0], offset: 105, timestamp: 10 }])
    })

    it('rewrites a format 3 row into format 2 without the dropped records, frames kept', () => {
      const frame = { prefix: Buffer.from('['), suffix: Buffer.from(']') }
      const { source, at } = packed(unheadered)
      const encoder = new BatchEncoder(16, true)
      unheadered.forEach((r, i) => encoder.addRange(r.offset, r.timestamp, source, at[i], length(r.key),
        at[i] + Math.max(length(r.key), 0), length(r.value), r.value === null ? undefined : frame))
      const row = { id: 1, ...encoder.cut() }
      const kept = rewriteBatch(row, (offset) => offset === records[3].offset)
      expect(kept?.payload).toBeNull()
      expect(kept?.data.readUInt32LE(0)).toBe(0xffffffff)
      expect(decode(kept!.baseOffset, kept!.data)).toEqual(unheadered.slice(0, 3).map((r) =>
        ({ ...r, value: r.value === null ? null : `[${r.value}]` })))
    })
  })
})

import { describe, expect, it } from 'vitest'
import { PackedView, RecordBatch, unpackAppendRecords, unpackRecords } from './record-batch.js'

describe('RecordBatch', () => {
  it('keeps records added whole and records written as ranges, in order', () => {
    const batch = new RecordBatch()
    batch.add({ topic: 'a', key: '{"id":1}', value: 'één', timestamp: 5, headers: { op: 'c' } })
    const body = Buffer.from('xx{"id":2}yy')
    batch.writeRange(body, 2, 10)
    batch.endKey(false)
    batch.writeRange(Buffer.from('{"v":'), 0, 5)
    batch.writeRange(Buffer.from('2}'), 0, 2)
    batch.endRecord('b', 6)
    batch.endKey(true)
    batch.writeRange(Buffer.from('{}'), 0, 2)
    batch.endRecord('a', 7)
    expect(batch.length).toBe(3)
    expect(batch.topicNames()).toEqual(['a', 'b'])
    const records = unpackAppendRecords(batch.pack()).map((r) => ({ ...r, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null }))
    expect(records).toEqual([
      { topic: 'a', key: '{"id":1}', value: 'één', timestamp: 5, headers: { op: 'c' } },
      { topic: 'b', key: '{"id":2}', value: '{"v":2}', timestamp: 6 },
      { topic: 'a', key: null, value: '{}', timestamp: 7 },
    ])
  })

  it('takes records written straight into its writer, across buffer growth, and drops one not ended', () => {
    const batch = new RecordBatch()
    const big = 'x'.repeat(700 * 1024)
    for (let i = 0; i < 3; i++) {
      const out = batch.writer()
      out.utf8(`{"id":${i}}`)
      batch.endKey(false)
      out.utf8(`{"big":"${big}"}`) // three of them outgrow the first megabyte
      batch.endRecord('t', i)
    }
    // A record that fails part way (its key ended, its value half written) leaves nothing behind.
    batch.writer().utf8('{"id":3}')
    batch.endKey(false)
    batch.writer().utf8('{"big":"')
    const bytesBefore = 3 * (8 + big.length + 10)
    expect(batch.bytes).toBe(bytesBefore + 8)
    batch.discardOpen()
    expect(batch.bytes).toBe(bytesBefore)
    batch.endKey(true)
    batch.writeRange(Buffer.from('{}'), 0, 2)
    batch.endRecord('u', 9)
    const records = unpackAppendRecords(batch.pack()).map((r) => [r.topic, r.key?.toString() ?? null, r.value?.toString().slice(0, 8), r.value?.length])
    expect(records).toEqual([
      ['t', '{"id":0}', '{"big":"', big.length + 10],
      ['t', '{"id":1}', '{"big":"', big.length + 10],
      ['t', '{"id":2}', '{"big":"', big.length + 10],
      ['u', null, '{}', 2],
    ])
  })

  it('is full at the record count, or at 16 MiB of keys and values whatever the count', () => {
    const small = new RecordBatch()
    for (let i = 0; i < 3; i++) small.add({ topic: 't', key: null, value: 'v' })
    expect(small.isFull(3)).toBe(true)
    expect(small.isFull(4)).toBe(false)
    const large = new RecordBatch()
    const megabyte = Buffer.alloc(1024 * 1024, 1)
    for (let i = 0; i < 15; i++) large.add({ topic: 't', key: null, value: megabyte })
    expect(large.isFull(5000)).toBe(false)
    large.add({ topic: 't', key: null, value: megabyte })
    expect(large.isFull(5000)).toBe(true)
  })
})

describe('RecordBatch value frames', () => {
  it('packs a frame once with the index of each record\'s frame; appends get the body and the frame, unpacking joins them', () => {
    // A pooled Buffer: packing must not post its whole pool slab.
    const frame = { prefix: Buffer.from('{"after":'), suffix: Buffer.from(',"op":"r"}') }
    const batch = new RecordBatch()
    for (let i = 0; i < 3; i++) {
      batch.writeRange(Buffer.from(`{"id":${i}}`), 0, 8)
      batch.endKey(false)
      batch.writeRange(Buffer.from(`{"n":${i}}`), 0, 7)
      batch.endRecord('t', i, frame)
    }
    batch.add({ topic: 't', key: null, value: Buffer.from('plain') })
    batch.add({ topic: 't', key: null, value: Buffer.from('x'), frame })
    expect(batch.bytes).toBe(3 * (8 + 7) + 5 + 1 + 4 * (frame.prefix.length + frame.suffix.length))
    const packed = batch.pack()
    expect(packed.frames).toHaveLength(1)
    expect(packed.frames?.[0].prefix.buffer.byteLength).toBe(frame.prefix.length)
    expect([...(packed.frameOf ?? [])]).toEqual([0, 0, 0, -1, 0])
    const appended = unpackAppendRecords(packed)
    expect(appended.map((r) => r.value?.toString())).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', 'plain', 'x'])
    expect(appended[0].frame).toBe(appended[2].frame)
    expect(appended[3].frame).toBeUndefined()
    expect(Buffer.from(appended[4].frame?.suffix ?? []).toString()).toBe(',"op":"r"}')
    const whole = unpackRecords(packed, (_t, _p, _o, _ts, _k, value) => value?.toString())
    expect(whole).toEqual(['{"after":{"n":0},"op":"r"}', '{"after":{"n":1},"op":"r"}', '{"after":{"n":2},"op":"r"}', 'plain', '{"after":x,"op":"r"}'])
    const view = new PackedView(packed)
    expect(Array.from({ length: view.length }, (_, i) => view.record(i).value?.toString())).toEqual(whole)
    expect([view.frameIndex(0), view.frameIndex(3)]).toEqual([0, -1])
    expect(view.bytes.subarray(view.valueAt(1), view.valueAt(1) + view.valueLength(1)).toString()).toBe('{"n":1}')
    expect(Buffer.from(view.frame(0).prefix).toString()).toBe('{"after":')
  })

  it('gives the last record another frame, counting the bytes of the one it has', () => {
    const a = { prefix: Buffer.from('<a>'), suffix: Buffer.from('</a>') }
    const b = { prefix: Buffer.from('<bb>'), suffix: Buffer.from('</bb>') }
    const batch = new RecordBatch()
    for (const value of ['1', '2']) {
      batch.endKey(true)
      batch.writeRange(Buffer.from(value), 0, 1)
      batch.endRecord('t', 0, a)
    }
    batch.reframeLast(b)
    expect(batch.bytes).toBe(2 + 7 + 9)
    const whole = unpackRecords(batch.pack(), (_t, _p, _o, _ts, _k, value) => value?.toString())
    expect(whole).toEqual(['<a>1</a>', '<bb>2</bb>'])
  })

  it('gives records after the last framed one no frame, whatever the batch grew to', () => {
    const frame = { prefix: Buffer.from('<'), suffix: Buffer.from('>') }
    const batch = new RecordBatch({ records: 1, bytes: 16 })
    batch.add({ topic: 't', key: null, value: Buffer.from('a'), frame })
    for (let i = 0; i < 5000; i++) batch.add({ topic: 't', key: null, value: Buffer.from('b') })
    const values = unpackRecords(batch.pack(), (_t, _p, _o, _ts, _k, value) => value?.toString())
    expect(values[0]).toBe('<a>')
    expect(values.slice(1).every((v) => v === 'b')).toBe(true)
  })
})

describe('PackedView', () => {
  it('gives each packed record, and where its key and value are, as unpacking would', () => {
    const batch = new RecordBatch()
    const added = [
      { topic: 'a', partition: 0, offset: 7, timestamp: 1000, key: Buffer.from('k1'), value: Buffer.from('value one') },
      { topic: 'b', partition: 2, offset: 8, timestamp: 1001, key: null, value: Buffer.from('v2'), headers: { op: 'c' } },
      { topic: 'a', partition: 0, offset: 9, timestamp: 1002, key: Buffer.from('k3'), value: null },
      { topic: 'a', partition: 1, offset: 10, timestamp: 1003, key: Buffer.from(''), value: Buffer.from('') },
    ]
    for (const record of added) batch.add(record)
    const view = new PackedView(batch.pack())
    expect(view.length).toBe(4)
    added.forEach((record, i) => {
      expect(view.record(i)).toEqual({ ...record, headers: record.headers ?? {} })
      expect([view.topic(i), view.partition(i), view.offset(i)]).toEqual([record.topic, record.partition, record.offset])
      const bytes = (at: number, length: number) => (length < 0 ? null : view.bytes.subarray(at, at + length))
      expect(bytes(view.keyAt(i), view.keyLength(i))).toEqual(record.key)
      expect(bytes(view.valueAt(i), view.valueLength(i))).toEqual(record.value)
    })
    // Each record's headers are its own.
    view.record(1).headers.op = 'changed'
    expect(view.record(1).headers).toEqual({ op: 'c' })
  })
})

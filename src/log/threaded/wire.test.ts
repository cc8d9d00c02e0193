import { describe, expect, it } from 'vitest'
import { InvalidLogRequestError, TopicExistsError, TopicNotFoundError } from '../log-errors.js'
import type { LogRecord } from '../topic-log.js'
import { RecordBatch } from '../record-batch.js'
import {
  fromWireError,
  packAppendRecords,
  packAppendResults,
  toWireError,
  unpackAppendRecords,
  unpackAppendResults,
  unpackLogRecords,
} from './wire.js'

describe('record packing', () => {
  it('round-trips append results across topics, in order', () => {
    const results = [
      { topic: 'a', partition: 0, offset: 41 },
      { topic: 'b', partition: 3, offset: 0 },
      { topic: 'a', partition: 1, offset: 9_007_199_254_740_000 },
      { topic: 'b', partition: 3, offset: 1 },
    ]
    const packed = packAppendResults(results)
    expect(packed.topics).toEqual(['a', 'b'])
    expect(unpackAppendResults(packed)).toEqual(results)
    expect(unpackAppendResults(packAppendResults([]))).toEqual([])
  })

  it('round-trips append records: Buffers, nulls, optional numbers and headers', () => {
    const pooled = Buffer.from('k1') // a view into Node's shared 8 KB pool
    const unpacked = unpackAppendRecords(packAppendRecords([
      { topic: 'a', key: pooled, value: Buffer.from('välue ✓') },
      { topic: 'b', key: null, value: null, partition: 2, timestamp: 1_700_000_000_123 },
      { topic: 'a', key: Buffer.alloc(0), value: Buffer.alloc(0), headers: { h: 'v' } },
    ]))
    expect(unpacked).toEqual([
      { topic: 'a', key: Buffer.from('k1'), value: Buffer.from('välue ✓') },
      { topic: 'b', key: null, value: null, partition: 2, timestamp: 1_700_000_000_123 },
      { topic: 'a', key: Buffer.alloc(0), value: Buffer.alloc(0), headers: { h: 'v' } },
    ])
    expect(Buffer.isBuffer(unpacked[0].key)).toBe(true)
  })

  it('round-trips log records with their offsets', () => {
    const records: LogRecord[] = [
      { topic: 't', partition: 0, offset: 41, timestamp: 5, key: Buffer.from('k'), value: null, headers: {} },
      { topic: 't', partition: 1, offset: 0, timestamp: 6, key: null, value: Buffer.from('v'), headers: { a: 'b' } },
    ]
    expect(unpackLogRecords(RecordBatch.of(records).pack())).toEqual(records)
  })

  it('rejects what the packed form cannot carry with the log error naming the field', () => {
    const bad = (record: object) => () => packAppendRecords([{ topic: 't', key: null, value: null }, record as never])
    expect(bad({ topic: 't', key: 7, value: null })).toThrow(InvalidLogRequestError)
    expect(bad({ topic: 't', key: 7, value: null })).toThrow('records[1].key')
    expect(bad({ topic: 't', key: null, value: null, timestamp: -1 })).toThrow('non-negative')
    expect(bad({ topic: 't', key: null, value: null, partition: '1' })).toThrow('non-negative')
  })
})

describe('error transport', () => {
  it("rebuilds the log's error classes with their data and message", () => {
    const exists = fromWireError(toWireError(new TopicExistsError('t', 'with 2 partitions')))
    expect(exists).toBeInstanceOf(TopicExistsError)
    expect(exists.message).toBe("topic 't' already exists with 2 partitions")
    expect((exists as TopicExistsError).topic).toBe('t')
    const invalid = fromWireError(toWireError(new InvalidLogRequestError('records[0].key', 'bad key')))
    expect(invalid).toBeInstanceOf(InvalidLogRequestError)
    expect((invalid as InvalidLogRequestError).field).toBe('records[0].key')
    expect(fromWireError(toWireError(new TopicNotFoundError('x')))).toBeInstanceOf(TopicNotFoundError)
    const other = fromWireError(toWireError(new RangeError('disk full')))
    expect(other).not.toBeInstanceOf(TopicNotFoundError)
    expect(other.message).toBe('disk full')
  })
})

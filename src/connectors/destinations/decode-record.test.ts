import { describe, expect, it } from 'vitest'
import type { LogRecord } from '../../log/topic-log.js'
import { decodeRecord } from './decode-record.js'
import { ExactInteger } from './destination.js'

const record = (key: string | null, value: string | null): LogRecord => ({
  topic: 't', partition: 0, offset: 7, timestamp: 0, headers: {},
  key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value),
})

const source = '{"ts_ms":1,"ts_ns":1796019963716123000}'

describe('decodeRecord', () => {
  it('keeps int64 values beyond 2^53 exact in keys and rows', () => {
    const decoded = decodeRecord(record(
      '{"id":9007199254740993}',
      `{"before":null,"after":{"id":9007199254740993,"n":-9223372036854775808,"small":42,"f":1.5,"e":1e300},"source":${source},"op":"c"}`,
    ))
    expect(decoded.key).toEqual({ id: new ExactInteger('9007199254740993') })
    expect(decoded.value?.after).toEqual({
      id: new ExactInteger('9007199254740993'), n: new ExactInteger('-9223372036854775808'), small: 42, f: 1.5, e: 1e300,
    })
    // What the PostgreSQL writer sends: the digits as they were.
    expect(JSON.stringify(decoded.value?.after)).toBe('{"id":"9007199254740993","n":"-9223372036854775808","small":42,"f":1.5,"e":1e+300}')
  })

  it('leaves ordinary records on the plain JSON.parse path', () => {
    const decoded = decodeRecord(record('{"id":1}', `{"before":{"id":1},"after":null,"source":${source},"op":"d"}`))
    expect(decoded.key).toEqual({ id: 1 })
    expect(decoded.value?.before).toEqual({ id: 1 })
    expect(decoded.value?.op).toBe('d')
  })

  it('unwraps schemas and rejects what is not a change event', () => {
    const wrapped = decodeRecord(record('{"schema":{},"payload":{"id":2}}', `{"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":2},"source":${source},"op":"r"}}`))
    expect(wrapped.key).toEqual({ id: 2 })
    expect(wrapped.valueSchema).toEqual({ type: 'struct' })
    expect(() => decodeRecord(record('{"id":1}', '{"op":"x"}'))).toThrow('not a Debezium change event')
    expect(() => decodeRecord(record('{"id":1}', 'not json'))).toThrow('not JSON')
  })
})

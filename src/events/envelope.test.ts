import { describe, expect, it } from 'vitest'
import type { ChangeEvent, TableSchema } from './change-event.js'
import { encodeKey, encodeTombstoneKey, encodeValue } from './envelope.js'
import { javaDouble, jsonString } from './json.js'

const TABLE: TableSchema = {
  schema: 'public',
  table: 'items',
  columns: [
    { field: 'id', type: 'int32', optional: false },
    { field: 'name', type: 'string', optional: true },
    { field: 'big', type: 'int64', optional: true },
    { field: 'ratio', type: 'float64', optional: true },
    {
      field: 'price', type: 'bytes', optional: true, name: 'org.apache.kafka.connect.data.Decimal', version: 1,
      parameters: { scale: '2', 'connect.decimal.precision': '10' },
    },
    { field: 'tags', type: 'array', optional: true, items: { type: 'string', optional: true } },
  ],
  keyColumns: ['id'],
}

function event(overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    op: 'c',
    table: TABLE,
    before: null,
    after: { id: 1, name: 'a "b"\n', big: 9223372036854775807n, ratio: 1, price: 'fQ==', tags: ['x', null] },
    source: {
      name: 'sluice', db: 'shop', schema: 'public', table: 'items', commitTimeUs: 1700000000123456n,
      snapshot: 'false', txId: 742, lsn: 26201024n, lastCommitLsn: 26200000n, xmin: null,
    },
    processedAtUs: 1700000000999999n,
    transaction: null,
    ...overrides,
  }
}

const SOURCE_JSON =
  '{"version":"3.4.0.Final","connector":"postgresql","name":"sluice","ts_ms":1700000000123,"snapshot":"false",' +
  '"db":"shop","sequence":"[\\"26200000\\",\\"26201024\\"]","ts_us":1700000000123456,"ts_ns":1700000000123456000,' +
  '"schema":"public","table":"items","txId":742,"lsn":26201024,"xmin":null}'

describe('encodeValue', () => {
  it('writes the Debezium envelope in Debezium field order without schemas', () => {
    const json = encodeValue(event(), { schemasEnable: false }).toString()
    expect(json).toBe(
      '{"before":null,' +
        '"after":{"id":1,"name":"a \\"b\\"\\n","big":9223372036854775807,"ratio":1.0,"price":"fQ==","tags":["x",null]},' +
        `"source":${SOURCE_JSON},"transaction":null,"op":"c",` +
        '"ts_ms":1700000000999,"ts_us":1700000000999999,"ts_ns":1700000000999999000}',
    )
  })

  it('writes deletes, the transaction block, a null lastCommitLsn and the connector version', () => {
    const value = encodeValue(
      event({
        op: 'd',
        before: { id: 1, name: null, big: null, ratio: Number.NaN, price: null, tags: null },
        after: null,
        transaction: { id: '742:26201024', totalOrder: 3, dataCollectionOrder: 1 },
        source: { ...event().source, lastCommitLsn: null },
      }),
      { schemasEnable: false, connectorVersion: '3.2.0.Final' },
    )
    const parsed = JSON.parse(value.toString())
    expect(Object.keys(parsed)).toEqual(['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns'])
    expect(parsed.before).toEqual({ id: 1, name: null, big: null, ratio: 'NaN', price: null, tags: null })
    expect(parsed.after).toBeNull()
    expect(parsed.transaction).toEqual({ id: '742:26201024', total_order: 3, data_collection_order: 1 })
    expect(parsed.source.version).toBe('3.2.0.Final')
    expect(parsed.source.sequence).toBe('[null,"26201024"]')
    expect(parsed.op).toBe('d')
  })

  it('drops txId, lsn and xmin for incremental snapshot reads', () => {
    const source = { ...event().source, snapshot: 'incremental' as const, xmin: 5 }
    const parsed = JSON.parse(encodeValue(event({ op: 'r', source }), { schemasEnable: false }).toString())
    expect(parsed.source).toMatchObject({ snapshot: 'incremental', txId: null, lsn: null, xmin: null })
  })

  it('wraps the payload with the Connect schema when schemas are enabled', () => {
    const json = encodeValue(event(), { schemasEnable: true }).toString()
    const { schema, payload } = JSON.parse(json)
    expect(payload.op).toBe('c')
    expect(json.startsWith('{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},')).toBe(true)
    expect(schema.name).toBe('sluice.public.items.Envelope')
    expect(schema.version).toBe(2)
    expect(schema.fields.map((f: { field: string }) => f.field)).toEqual([
      'before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns',
    ])
    expect(json).toContain(
      '{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,' +
        '"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"}',
    )
    expect(json).toContain('{"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"tags"}')
    expect(json).toContain('],"optional":true,"name":"sluice.public.items.Value","field":"before"}')
    expect(json).toContain(
      '{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":' +
        '"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false",' +
        '"field":"snapshot"}',
    )
    expect(json).toContain('"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}')
    expect(json).toContain(
      '{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,' +
        '"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,' +
        '"name":"event.block","version":1,"field":"transaction"}',
    )
    expect(json).toContain(
      '{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},' +
        '{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],' +
        '"optional":false,"name":"sluice.public.items.Envelope","version":2},"payload":{',
    )
  })
})

describe('encodeKey', () => {
  it('writes the key struct, with and without schema', () => {
    expect(encodeKey(event(), { schemasEnable: false })?.toString()).toBe('{"id":1}')
    expect(encodeKey(event(), { schemasEnable: true })?.toString()).toBe(
      '{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,' +
        '"name":"sluice.public.items.Key"},"payload":{"id":1}}',
    )
  })

  it('takes the key of a delete from before, and returns null for keyless tables and truncates', () => {
    const del = event({ op: 'd', before: { id: 7 }, after: null })
    expect(encodeKey(del, { schemasEnable: false })?.toString()).toBe('{"id":7}')
    expect(encodeTombstoneKey(del, { schemasEnable: false })?.toString()).toBe('{"id":7}')
    expect(encodeKey(event({ table: { ...TABLE, keyColumns: [] } }), { schemasEnable: false })).toBeNull()
    expect(encodeKey(event({ op: 't', after: null }), { schemasEnable: true })).toBeNull()
  })
})

describe('Jackson-compatible JSON', () => {
  it('formats doubles as Java does', () => {
    expect(javaDouble(1)).toBe('1.0')
    expect(javaDouble(-2.5)).toBe('-2.5')
    expect(javaDouble(0.001)).toBe('0.001')
    expect(javaDouble(0.0001)).toBe('1.0E-4')
    expect(javaDouble(1234567)).toBe('1234567.0')
    expect(javaDouble(12345678)).toBe('1.2345678E7')
    expect(javaDouble(1.5e300)).toBe('1.5E300')
    expect(javaDouble(-0)).toBe('-0.0')
    expect(javaDouble(Number.POSITIVE_INFINITY)).toBe('"Infinity"')
  })

  it('escapes control characters with upper-case hex', () => {
    expect(jsonString('a\u0001b\u001f\t\\"é')).toBe('"a\\u0001b\\u001F\\t\\\\\\"é"')
    expect(jsonString('plain \\u00ab')).toBe(JSON.stringify('plain \\u00ab'))
    // Whatever the path, the result is JSON.stringify's (Jackson's escapes differ only in \u00XX case)...
    for (const text of ['', 'plain', 'uuid-1234-abcd', 'quote"', 'back\\slash', 'tab\t', 'emoji 🚀', 'ünïcödé', '\u2028']) {
      expect(JSON.parse(jsonString(text))).toBe(text)
      expect(jsonString(text)).toBe(JSON.stringify(text))
    }
    // ...but for a lone surrogate, which Jackson writes raw.
    expect(jsonString('lone \ud800 surrogate')).toBe('"lone \ud800 surrogate"')
    expect(jsonString('lone \ud800 and "quote"')).toBe('"lone \ud800 and \\"quote\\""')
  })
})

describe('envelope timestamps', () => {
  it('derives ts_ms (floored), ts_us and ts_ns from microseconds, small and negative values included', () => {
    const at = (us: bigint) => {
      const parsed = encodeValue(event({ processedAtUs: us }), { schemasEnable: false }).toString()
      return parsed.slice(parsed.lastIndexOf('"op"'))
    }
    expect(at(1234n)).toBe('"op":"c","ts_ms":1,"ts_us":1234,"ts_ns":1234000}')
    expect(at(999n)).toBe('"op":"c","ts_ms":0,"ts_us":999,"ts_ns":999000}')
    expect(at(0n)).toBe('"op":"c","ts_ms":0,"ts_us":0,"ts_ns":0}')
    expect(at(-1n)).toBe('"op":"c","ts_ms":-1,"ts_us":-1,"ts_ns":-1000}')
    expect(at(-2000n)).toBe('"op":"c","ts_ms":-2,"ts_us":-2000,"ts_ns":-2000000}')
  })
})

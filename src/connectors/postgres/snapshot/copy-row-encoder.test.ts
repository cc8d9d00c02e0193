import { describe, expect, it } from 'vitest'
import { encodeKey, encodeValue, jsonWriter, keyText, valueText } from '../../../events/envelope.js'
import { parsePostgresConfig } from '../postgres-config.js'
import { ChangeMapper, type MappedTable } from '../streaming/change-mapper.js'
import * as oid from '../types/pg-oids.js'
import { type PgTypeInfo, TypeRegistry } from '../types/type-registry.js'
import { ByteWriter } from '../../../util/byte-writer.js'
import { CopyRowEncoder } from './copy-row-encoder.js'

const numericMod = (precision: number, scale: number) => ((precision << 16) | scale) + 4
const type = (o: number, name: string, kind: string, extra: Partial<PgTypeInfo> = {}): PgTypeInfo =>
  ({ oid: o, schema: 'public', name, kind, elementOid: 0, baseOid: 0, baseTypeMod: -1, enumLabels: [], delimiter: ',', ...extra })
const CATALOGUE = [
  type(90001, 'mood', 'e', { enumLabels: ['sad', 'ok'] }),
  type(1007, '_int4', 'b', { elementOid: 23 }),
  type(1009, '_text', 'b', { elementOid: 25 }),
]

/** Every column kind a snapshot meets, with text values that exercise escaping, special values and NULL. */
const COLUMNS: Array<{ name: string; typeOid: number; typeMod?: number; values: Array<string | null> }> = [
  { name: 'id', typeOid: oid.INT8, values: ['1', '-9223372036854775808', '9007199254740993'] },
  { name: 'small', typeOid: oid.INT2, values: ['-32768', '0', null] },
  { name: 'n', typeOid: oid.INT4, values: ['2147483647', '-1', '7'] },
  { name: 'flag', typeOid: oid.BOOL, values: ['t', 'f', null] },
  { name: 'note', typeOid: oid.TEXT, values: ['plain', 'tab\there "quoted" \\ back\u0001\u001f', 'ünïcödé 😀'] },
  { name: 'name', typeOid: oid.VARCHAR, typeMod: 54, values: ['', 'a\nb', null] },
  { name: 'price', typeOid: oid.NUMERIC, typeMod: numericMod(12, 2), values: ['12.50', '-0.01', '9999999999.99'] },
  { name: 'ratio', typeOid: oid.NUMERIC, values: ['1.2300', '-5', '0.000001'] },
  { name: 'x', typeOid: oid.FLOAT8, values: ['1e+20', 'NaN', '-0', ] },
  { name: 'f', typeOid: oid.FLOAT4, values: ['1.5', 'Infinity', '3'] },
  { name: 'at', typeOid: oid.TIMESTAMPTZ, values: ['2026-11-30 07:46:24.123456+00', '1999-01-08 04:05:06+00', null] },
  { name: 'local', typeOid: oid.TIMESTAMP, values: ['2026-11-30 07:46:24.5', '0099-01-01 00:00:00 BC', null] },
  { name: 'day', typeOid: oid.DATE, values: ['2026-11-30', '1970-01-01', null] },
  { name: 'doc', typeOid: oid.JSONB, values: ['{"a": [1, 2]}', '"\\u0000"', null] },
  { name: 'uid', typeOid: oid.UUID, values: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null, null] },
  { name: 'bytes', typeOid: oid.BYTEA, values: ['\\x00ff10', '\\x', null] },
  { name: 'mood', typeOid: 90001, values: ['sad', 'ok', null] },
  { name: 'tags', typeOid: 1009, values: ['{a,"b c",NULL}', '{}', null] },
  { name: 'nums', typeOid: 1007, values: ['{1,2,3}', '{{1,2},{3,4}}', null] },
  { name: 'dur', typeOid: oid.INTERVAL, values: ['1 day 02:03:04', '-00:00:01', null] },
]

const config = parsePostgresConfig({ 'database.hostname': 'db', 'database.dbname': 'app', 'database.user': 'u', 'database.password': 'p', 'topic.prefix': 'shop' }, 'src-1')
const registry = new TypeRegistry(CATALOGUE)

function table(mapper: ChangeMapper, primaryKey: string[]) {
  return mapper.defineRelation(
    {
      tag: 'relation',
      relationId: 42,
      schema: 'public',
      name: 'things',
      replicaIdentity: 'default',
      columns: COLUMNS.map((c) => ({ isKey: primaryKey.includes(c.name), name: c.name, typeOid: c.typeOid, typeMod: c.typeMod ?? -1 })),
    },
    { primaryKey, notNull: new Set(['id']) },
  )
}

/** A value as COPY TO writes it in text format. */
function copyField(text: string | null): string {
  if (text === null) return '\\N'
  return text.replace(/[\\\t\n\r\b\f\v]/g, (c) => `\\${({ '\\': '\\', '\t': 't', '\n': 'n', '\r': 'r', '\b': 'b', '\f': 'f', '\v': 'v' } as Record<string, string>)[c]}`)
}

/** Encodes `values` (field texts) from their COPY line, and composes key and value as the emitter does. */
function encodeFromCopy(mapper: ChangeMapper, mapped: MappedTable, values: Array<string | null>, line: string, readAt: bigint, schemasEnable: boolean, shortestFloats = false) {
  const encoder = new CopyRowEncoder(mapper, { shortestFloats })
  const bytes = Buffer.from(`${line}\nnext line`)
  const end = bytes.indexOf(0x0a)
  // Written after other bytes, as into a record batch; tiny buffers, so writing grows them.
  const written = (write: (out: ByteWriter) => void) => {
    const out = new ByteWriter(16)
    out.range(Buffer.from('junk before the row'))
    const from = out.length
    write(out)
    return out.bytes.toString('utf8', from, out.length)
  }
  const after = written((out) => encoder.writeAfter(mapped, bytes, 0, end, out))
  const row = encoder.sourceFor(mapped, 0x1a2b3cn, readAt)
  const key = encoder.hasKey(mapped) ? keyText(mapped.tableSchema, written((out) => encoder.writeKey(mapped, bytes, 0, end, out)), row.source, { schemasEnable }) : null
  const value = valueText(mapped.tableSchema, { before: 'null', after, source: row.source, snapshot: 'last_in_data_collection', op: 'r', processedAtUs: readAt }, { schemasEnable })
  return { key, value, row }
}

describe('CopyRowEncoder', () => {
  for (const [label, primaryKey] of [['single key', ['id']], ['composite key', ['n', 'id']], ['keyless', []]] as const) {
    for (const schemasEnable of [false, true]) {
      it(`writes what encodeKey/encodeValue write for readEvent (${label}, schemas ${schemasEnable})`, () => {
        const mapper = new ChangeMapper(config, registry, () => 0n)
        const mapped = table(mapper, [...primaryKey])
        for (let row = 0; row < 3; row++) {
          const values = COLUMNS.map((c) => c.values[row])
          const readAt = 1_764_488_784_000_000n + BigInt(row) * 1000n
          const encoded = encodeFromCopy(mapper, mapped, values, values.map(copyField).join('\t'), readAt, schemasEnable)
          const event = mapper.readEvent(mapped, values, 'last_in_data_collection', 0x1a2b3cn, readAt)
          event.processedAtUs = readAt
          expect(encoded.key).toBe(encodeKey(event, { schemasEnable }))
          expect(encoded.value).toBe(encodeValue(event, { schemasEnable }))
          expect(encoded.row.timestampMs).toBe(Number(readAt / 1000n))
        }
      })
    }
  }

  it('translates every escape and control character of text values as jsonString does', () => {
    const mapper = new ChangeMapper(config, registry, () => 0n)
    const mapped = table(mapper, ['id'])
    const texts = ['', '\\N', '\\', 'a"b', 'tab\tnl\ncr\rbs\bff\fvt\v', '\u0001\u001f\u007f', 'ünïcödé 😀 \u2028', 'x'.repeat(5000),
      // Output beyond the megabyte of room reserved at a time.
      'a"\\\n'.repeat(300_000)]
    for (const text of texts) {
      const values = COLUMNS.map((c, i) => (i === 4 ? text : c.values[0]))
      const encoded = encodeFromCopy(mapper, mapped, values, values.map(copyField).join('\t'), 0n, false)
      const event = mapper.readEvent(mapped, values, 'last_in_data_collection', 0x1a2b3cn, 0n)
      event.processedAtUs = 0n
      expect(encoded.value, JSON.stringify(text)).toBe(encodeValue(event, { schemasEnable: false }))
      expect(JSON.parse(encoded.value).after.note).toBe(text)
    }
  })

  it('reads octal and hex escapes (which COPY TO does not send) through the converter', () => {
    const mapper = new ChangeMapper(config, registry, () => 0n)
    const mapped = table(mapper, ['id'])
    const values = COLUMNS.map((c) => c.values[0])
    const line = values.map((v, i) => (i === 4 ? 'a\\101\\x42c' : copyField(v))).join('\t')
    const encoded = encodeFromCopy(mapper, mapped, values, line, 0n, false)
    expect(JSON.parse(encoded.value).after.note).toBe('aABc')
    // Declining after megabytes were written (and room grown) leaves nothing of them behind.
    const long = values.map((v, i) => (i === 4 ? `${'"'.repeat(1_000_000)}\\101` : copyField(v))).join('\t')
    expect(JSON.parse(encodeFromCopy(mapper, mapped, values, long, 0n, false).value).after.note).toBe(`${'"'.repeat(1_000_000)}A`)
  })

  it('writes shortest float8 texts of up to 17 digits as they are when the session prints floats that way', () => {
    const mapper = new ChangeMapper(config, registry, () => 0n)
    const mapped = table(mapper, ['id'])
    for (const [x, f] of [['0.14285714285714285', '0.1'], ['1234567.8901234567', '-2.25'], ['-0.001', '3'], ['1e+20', 'NaN']]) {
      const values = COLUMNS.map((c) => (c.name === 'x' ? x : c.name === 'f' ? f : c.values[0]))
      const event = mapper.readEvent(mapped, values, 'last_in_data_collection', 0x1a2b3cn, 0n)
      event.processedAtUs = 0n
      for (const shortest of [false, true]) {
        const encoded = encodeFromCopy(mapper, mapped, values, values.map(copyField).join('\t'), 0n, false, shortest)
        expect(encoded.value, `${x} ${f} ${shortest}`).toBe(encodeValue(event, { schemasEnable: false }))
      }
    }
    // The mode trusts the session: a 17-digit text that is not the shortest (PostgreSQL before 12 prints those) would
    // be written as it is, which is why the snapshot turns the mode on only for servers that print the shortest form.
    const values = COLUMNS.map((c) => (c.name === 'x' ? '0.10000000000000001' : c.values[0]))
    const [converted, asIs] = [false, true].map((shortest) =>
      encodeFromCopy(mapper, mapped, values, values.map(copyField).join('\t'), 0n, false, shortest).value)
    expect(JSON.parse(converted).after.x).toBe(0.1)
    expect(asIs).toContain('"x":0.10000000000000001,')
    expect(JSON.parse(asIs).after.x).toBe(0.1) // the same double all the same
  })

  it('rejects a row with more or fewer fields than the columns read', () => {
    const mapper = new ChangeMapper(config, registry, () => 0n)
    const mapped = table(mapper, ['id'])
    const line = COLUMNS.map((c) => copyField(c.values[0])).join('\t')
    expect(() => encodeFromCopy(mapper, mapped, [], `${line}\t1`, 0n, false)).toThrow(/more fields/)
    expect(() => encodeFromCopy(mapper, mapped, [], line.slice(0, line.lastIndexOf('\t')), 0n, false)).toThrow(/fewer fields/)
  })
})

describe('TypeMapping.json', () => {
  it('equals writing the converted value, for every column kind', () => {
    for (const column of COLUMNS) {
      const mapping = registry.forColumn({ typeOid: column.typeOid, typeMod: column.typeMod ?? -1 })
      for (const text of column.values) {
        if (text === null) continue
        expect(mapping.json(text), `${column.name}: ${text}`).toBe(jsonWriter(mapping.schema)(mapping.convert(text)))
      }
    }
  })
})

describe('TypeMapping.byteJson', () => {
  const cases: Array<{ typeOid: number; typeMods: number[]; texts: string[]; fast: string[] }> = [
    {
      typeOid: oid.TIMESTAMPTZ,
      typeMods: [-1, 0, 1, 3, 6],
      texts: ['2026-11-30 07:46:24+00', '2026-11-30 07:46:24.5+00', '2026-11-30 07:46:24.123456+00', '2026-11-30 07:46:24.120000+00',
        '0001-01-01 00:00:00+00', '2026-11-30 07:46:24.1+01', '2026-11-30 07:46:24+05:30', '0099-01-01 00:00:00+00 BC',
        '12026-11-30 07:46:24+00', 'infinity', '-infinity', '2026-11-30T07:46:24+00', '2026-11-30 07:46:24.+00',
        // A non-digit where a digit goes: the converter rejects them, the fast path must decline.
        '2026-1a-30 07:46:24+00', '2026-11-30 07:46:2:+00', '/026-11-30 07:46:24+00', '2026-11-30 07:46:24.12a+00'],
      fast: ['2026-11-30 07:46:24+00', '2026-11-30 07:46:24.5+00', '2026-11-30 07:46:24.123456+00'],
    },
    {
      typeOid: oid.NUMERIC,
      typeMods: [numericMod(12, 2), numericMod(14, 0), numericMod(20, 6), numericMod(18, 4)],
      texts: ['0', '0.00', '-0.00', '12.50', '-12.50', '99999999999.99', '-99999999999.99', '123', '140737488355327',
        '1234567890.123456', '-0.000001', '12345678901234.5678', '1.5', '.5', '5.', '-', '', '1e5',
        // Unscaled values of 1 to 6 bytes, either side of each boundary: every base64 padding.
        '1', '-1', '127', '128', '-128', '-129', '32767', '32768', '8388607', '-8388609', '2147483647', '2147483648',
        '549755813887', '-549755813889', '99999999999999', '-99999999999999'],
      fast: ['12.50', '-12.50', '99999999999.99', '127', '-129', '32768', '8388607', '2147483648'],
    },
    {
      typeOid: oid.FLOAT8,
      typeMods: [-1],
      texts: ['1.5', '-1.5', '3', '-3', '0', '-0', '0.001', '0.0001', '0.00123', '9999999.5', '10000000', '1e+20', '1e-05',
        '0.14285714285714285', '0.142857142857143', '123456.789012345', '1234567.89012345', 'NaN', 'Infinity', '-Infinity',
        '1.50', '01.5', '.5', '5.', '1234567', '12345678'],
      fast: ['1.5', '-1.5', '3', '0.001', '0.00123', '9999999.5', '0.142857142857143', '123456.789012345', '1234567'],
    },
    {
      typeOid: oid.FLOAT4,
      typeMods: [-1],
      texts: ['1.1', '-2.25', '16777216', '3.4028235e+38', '0.1'],
      fast: ['1.1', '0.1'],
    },
  ]
  for (const { typeOid, typeMods, texts, fast } of cases) {
    it(`writes what the converter writes, or declines (type ${typeOid})`, () => {
      let taken = 0
      for (const typeMod of typeMods) {
        const mapping = registry.forColumn({ typeOid, typeMod })
        expect(mapping.byteJson).not.toBeNull()
        for (const text of texts) {
          const out = new ByteWriter(4)
          const bytes = Buffer.from(`x${text}y`)
          if (!mapping.byteJson!(bytes, 1, bytes.length - 1, out)) {
            expect(out.length, text).toBe(0)
            expect(fast.includes(text) && typeMod === typeMods[0], `${text} should take the fast path`).toBe(false)
            continue
          }
          taken++
          let expected: string
          try {
            expected = mapping.json(text)
          } catch (error) {
            expected = `the converter rejects it: ${error}`
          }
          expect(out.bytes.toString('utf8', 0, out.length), `${text} (typmod ${typeMod})`).toBe(expected)
        }
      }
      expect(taken).toBeGreaterThan(typeMods.length)
    })
  }
})

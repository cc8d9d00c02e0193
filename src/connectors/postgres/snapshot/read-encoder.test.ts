import { describe, expect, it } from 'vitest'
import { encodeKey, encodeValue, jsonWriter, keyText, valueText } from '../../../events/envelope.js'
import { parsePostgresConfig } from '../postgres-config.js'
import { ChangeMapper } from '../streaming/change-mapper.js'
import * as oid from '../types/pg-oids.js'
import { parseCopyTextRow } from '../types/copy-text.js'
import { type PgTypeInfo, TypeRegistry } from '../types/type-registry.js'
import { ReadEncoder } from './read-encoder.js'

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

describe('ReadEncoder', () => {
  for (const [label, primaryKey] of [['single key', ['id']], ['composite key', ['n', 'id']], ['keyless', []]] as const) {
    for (const schemasEnable of [false, true]) {
      it(`writes what encodeKey/encodeValue write for readEvent (${label}, schemas ${schemasEnable})`, () => {
        const mapper = new ChangeMapper(config, registry, () => 1_764_488_784_000_000n)
        const mapped = table(mapper, [...primaryKey])
        const encoder = new ReadEncoder(mapper)
        for (let row = 0; row < 3; row++) {
          const values = COLUMNS.map((c) => c.values[row])
          const readAt = 1_764_488_784_000_000n + BigInt(row) * 1000n
          const read = encoder.encode(mapped, values, 0x1a2b3cn, readAt)
          const event = mapper.readEvent(mapped, values, 'last_in_data_collection', 0x1a2b3cn, readAt)
          event.processedAtUs = readAt
          const key = read.key === null ? null : keyText(read.table, read.key, read.source, { schemasEnable })
          expect(key).toBe(encodeKey(event, { schemasEnable }))
          const value = valueText(read.table, { before: 'null', after: read.after, source: read.source, snapshot: 'last_in_data_collection', op: 'r', processedAtUs: read.processedAtUs }, { schemasEnable })
          expect(value).toBe(encodeValue(event, { schemasEnable }))
          expect(read.timestampMs).toBe(Number(readAt / 1000n))
        }
      })
    }
  }

  it('reads COPY text the same way (escaped tabs, newlines and backslashes)', () => {
    const mapper = new ChangeMapper(config, registry, () => 0n)
    const mapped = table(mapper, ['id'])
    const line = COLUMNS.map((c, i) => (i === 4 ? 'a\\tb\\nc\\\\d' : c.values[0] === null ? '\\N' : c.values[0]!.replaceAll('\\', '\\\\'))).join('\t')
    const read = new ReadEncoder(mapper).encode(mapped, parseCopyTextRow(line), null, 0n)
    expect(JSON.parse(read.after).note).toBe('a\tb\nc\\d')
    expect(JSON.parse(read.after).id).toBe(1)
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

/**
 * Type mapping against a real PostgreSQL (server time zone Pacific/Apia): one column of every supported type,
 * rows captured through a pgoutput slot, decoded and converted, compared with the values Debezium's PostgreSQL
 * connector emits for them (written out by hand from Debezium's documented and source behaviour), and the same
 * rows read back through `COPY … TO STDOUT` must convert identically, and the snapshot encoder must write the same
 * JSON from COPY's bytes.
 */
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodePgOutput } from '../../../src/connectors/postgres/pgoutput/decoder.js'
import type { PgOutputMessage, RelationColumn, TupleData } from '../../../src/connectors/postgres/pgoutput/messages.js'
import { parsePostgresConfig } from '../../../src/connectors/postgres/postgres-config.js'
import { CopyRowEncoder } from '../../../src/connectors/postgres/snapshot/copy-row-encoder.js'
import { ChangeMapper } from '../../../src/connectors/postgres/streaming/change-mapper.js'
import { parseCopyTextRow } from '../../../src/connectors/postgres/types/copy-text.js'
import { shortestFloatJson } from '../../../src/connectors/postgres/types/byte-json.js'
import { ByteWriter } from '../../../src/util/byte-writer.js'
import { loadTypeRegistry, type TypeRegistry } from '../../../src/connectors/postgres/types/type-registry.js'
import type { ChangeEvent, EventValue, TableSchema } from '../../../src/events/change-event.js'
import { encodeKey, encodeValue } from '../../../src/events/envelope.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'

const b64 = (...bytes: number[]) => Buffer.from(bytes).toString('base64')
const MICROS_PER_MS = 1000

const COLUMNS: Array<[name: string, type: string]> = [
  ['c_int2', 'smallint'], ['c_int4', 'integer'], ['c_int8', 'bigint'], ['c_float4', 'real'],
  ['c_float8', 'double precision'], ['c_numeric', 'numeric(10,2)'], ['c_numeric_var', 'numeric'],
  ['c_bool', 'boolean'], ['c_text', 'text'], ['c_varchar', 'varchar(20)'], ['c_bpchar', 'char(5)'],
  ['c_name', 'name'], ['c_bytea', 'bytea'], ['c_date', 'date'], ['c_time', 'time'], ['c_time3', 'time(3)'],
  ['c_timetz', 'timetz'], ['c_ts', 'timestamp'], ['c_ts3', 'timestamp(3)'], ['c_tstz', 'timestamptz'],
  ['c_tstz3', 'timestamptz(3)'], ['c_interval', 'interval'], ['c_uuid', 'uuid'], ['c_json', 'json'],
  ['c_jsonb', 'jsonb'], ['c_xml', 'xml'], ['c_inet', 'inet'], ['c_cidr', 'cidr'], ['c_macaddr', 'macaddr'],
  ['c_money', 'money'], ['c_bit', 'bit(7)'], ['c_bit1', 'bit(1)'], ['c_varbit', 'varbit'], ['c_mood', 'mood'],
  ['c_int_arr', 'integer[]'], ['c_text_arr', 'text[]'], ['c_numeric_arr', 'numeric(5,2)[]'],
  ['c_tstz_arr', 'timestamptz[]'], ['c_mood_arr', 'mood[]'], ['c_price', 'price'],
]

// SQL literals per row; omitted columns are NULL.
const ROWS: Array<Record<string, string>> = [
  {
    c_int2: '-32768', c_int4: '2147483647', c_int8: '9223372036854775807', c_float4: '3.14', c_float8: '-1.5e-300',
    c_numeric: '-12345678.90', c_numeric_var: '1.500', c_bool: 'true',
    c_text: `E'tab\\there "quoted" \\\\ back\\nZoë 東京'`, c_varchar: `'abc'`, c_bpchar: `'ab'`, c_name: `'pg_name'`,
    c_bytea: `'\\x00fffe'`, c_date: `'2016-11-04'`, c_time: `'13:51:30.123456'`, c_time3: `'13:51:30.123'`,
    c_timetz: `'13:51:30.123789+02'`, c_ts: `'2016-11-04 13:51:30.123456'`, c_ts3: `'2016-11-04 13:51:30.1235'`,
    c_tstz: `'2016-11-04 13:51:30.123456+02'`, c_tstz3: `'2016-11-04 13:51:30.5+02'`,
    c_interval: `'1 year 2 months 3 days 4 hours 5 minutes 6.78 seconds'`,
    c_uuid: `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`, c_json: `'{"a": [1, 2]}'`, c_jsonb: `'{"b":1,"a":"x"}'`,
    c_xml: `'<a>1</a>'`, c_inet: `'192.168.0.1/24'`, c_cidr: `'10.0.0.0/8'`, c_macaddr: `'08:00:2b:01:02:03'`,
    c_money: `'1234.56'`, c_bit: `B'1000000'`, c_bit1: `B'1'`, c_varbit: `B'000000110000001000000001'`,
    c_mood: `'happy'`, c_int_arr: `'{1,NULL,-3}'`,
    c_text_arr: `ARRAY['a "q"', NULL, 'x,y', 'NULL', E'back\\\\slash', '', '{}']`,
    c_numeric_arr: `'{1.5,-0.01,NULL}'`, c_tstz_arr: `'{"2020-04-01 00:01:02+00",NULL}'`, c_mood_arr: `'{sad,ok}'`,
    c_price: `1.5`,
  },
  {
    c_int2: '32767', c_int4: '-2147483648', c_int8: '-9223372036854775808', c_float4: `'NaN'`,
    c_float8: `'-Infinity'`, c_numeric: '0', c_numeric_var: '-100', c_bool: 'false', c_text: `''`,
    c_bytea: `'\\x'`, c_date: `'infinity'`, c_time: `'24:00:00'`, c_time3: `'00:00:00'`, c_timetz: `'00:00:00+14'`,
    c_ts: `'infinity'`, c_ts3: `'-infinity'`, c_tstz: `'-infinity'`, c_tstz3: `'infinity'`,
    c_interval: `'-1 years -2 mons +3 days -04:05:06.78'`, c_money: `'-1234.56'`, c_bit: `B'0000000'`,
    c_bit1: `B'0'`, c_varbit: `B''`, c_mood: `'sad'`, c_int_arr: `'{}'`, c_text_arr: `'{NULL}'`, c_mood_arr: `'{}'`,
  },
  {
    c_float4: `'1e10'`, c_float8: `'Infinity'`, c_numeric_var: `'12345678901234567890.123456789'`,
    c_date: `'0044-03-15 BC'`, c_ts: `'0001-01-01 00:00:00 BC'`, c_tstz: `'1879-01-01 12:00:00+00'`,
    c_tstz3: `'21016-11-04 13:51:30.123+07'`, c_interval: `'100:00:00'`, c_timetz: `'23:30:00-02:30'`,
  },
  {},
]

const N = null
// What Debezium emits for each row, column by column (JSON converter representation).
const EXPECTED: Array<Record<string, EventValue>> = [
  {
    c_int2: -32768, c_int4: 2147483647, c_int8: 9223372036854775807n, c_float4: 3.14, c_float8: -1.5e-300,
    c_numeric: b64(0xb6, 0x69, 0xfd, 0x2e), // -1234567890, two's complement
    c_numeric_var: { scale: 1, value: b64(15) }, c_bool: true, c_text: 'tab\there "quoted" \\ back\nZoë 東京',
    c_varchar: 'abc', c_bpchar: 'ab   ', c_name: 'pg_name', c_bytea: b64(0x00, 0xff, 0xfe), c_date: 17109,
    c_time: ((13 * 60 + 51) * 60 + 30) * 1_000_000 + 123456, c_time3: ((13 * 60 + 51) * 60 + 30) * 1000 + 123,
    c_timetz: '11:51:30.123789Z', c_ts: Date.UTC(2016, 10, 4, 13, 51, 30, 123) * MICROS_PER_MS + 456,
    c_ts3: Date.UTC(2016, 10, 4, 13, 51, 30, 124), // PostgreSQL rounds .1235 to .124
    c_tstz: '2016-11-04T11:51:30.123456Z', c_tstz3: '2016-11-04T11:51:30.500Z',
    // MicroDuration: (14 months × 365.25/12 + 3) days + 4 h 5 min 6.78 s
    c_interval: 37091106780000, c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', c_json: '{"a": [1, 2]}',
    c_jsonb: '{"a": "x", "b": 1}', c_xml: '<a>1</a>', c_inet: '192.168.0.1/24', c_cidr: '10.0.0.0/8',
    c_macaddr: '08:00:2b:01:02:03', c_money: b64(0x01, 0xe2, 0x40), // 123456
    c_bit: b64(64), c_bit1: true, c_varbit: b64(1, 2, 3), c_mood: 'happy', c_int_arr: [1, N, -3],
    c_text_arr: ['a "q"', N, 'x,y', 'NULL', 'back\\slash', '', '{}'], c_numeric_arr: [b64(0, 150), b64(0xff), N],
    c_tstz_arr: ['2020-04-01T00:01:02.000000Z', N], c_mood_arr: ['sad', 'ok'], c_price: b64(0x05, 0xdc), // 1.500
  },
  {
    c_int2: 32767, c_int4: -2147483648, c_int8: -9223372036854775808n, c_float4: Number.NaN,
    c_float8: Number.NEGATIVE_INFINITY, c_numeric: b64(0), c_numeric_var: { scale: 0, value: b64(0x9c) },
    c_bool: false, c_text: '', c_bytea: '', c_date: -2147472692, c_time: 86_400_000_000, c_time3: 0,
    c_timetz: '10:00:00Z', c_ts: 9223372036825200000n, c_ts3: -9223372036832400n, c_tstz: '-infinity',
    c_tstz3: 'infinity', c_interval: -36572706780000, c_money: b64(0xfe, 0x1d, 0xc0), // -123456
    c_bit: '', c_bit1: false, c_varbit: '', c_mood: 'sad', c_int_arr: [], c_text_arr: [N], c_mood_arr: [],
  },
  {
    c_float4: 1e10, c_float8: Number.POSITIVE_INFINITY,
    c_numeric_var: { scale: 9, value: Buffer.from(12345678901234567890123456789n.toString(16).padStart(24, '0'), 'hex').toString('base64') },
    c_date: Date.UTC(-43, 2, 15) / 86_400_000, c_ts: BigInt(Date.parse('0000-01-01T00:00:00Z')) * 1000n, // beyond 2^53: bigint
    c_tstz: '1879-01-01T12:00:00.000000Z', c_tstz3: '+21016-11-04T06:51:30.123Z', c_interval: 360_000_000_000,
    c_timetz: '02:00:00Z',
  },
  {},
]

let server: TestPostgres
let registry: TypeRegistry
let relationColumns: RelationColumn[]
let streamed: TupleData[]

beforeAll(async () => {
  server = await startPostgres()
  await server.createDatabase('types')
  const client = new pg.Client(server.config('types'))
  await client.connect()
  try {
    await client.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`)
    await client.query(`CREATE DOMAIN price AS numeric(8,3)`)
    const columnSql = COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')
    await client.query(`CREATE TABLE all_types (id int PRIMARY KEY, ${columnSql})`)
    await client.query(`CREATE PUBLICATION pub FOR TABLE all_types`)
    await client.query(`SELECT pg_create_logical_replication_slot('types_slot', 'pgoutput')`)
    for (const [index, row] of ROWS.entries()) {
      const values = COLUMNS.map(([name]) => row[name] ?? 'NULL').join(', ')
      await client.query(`INSERT INTO all_types VALUES (${index + 1}, ${values})`)
    }
    const { rows } = await client.query(
      `SELECT data FROM pg_logical_slot_get_binary_changes('types_slot', NULL, NULL,
         'proto_version', '1', 'publication_names', 'pub')`,
    )
    const messages: PgOutputMessage[] = rows.map((r) => decodePgOutput(r.data as Buffer, { protocolVersion: 1 }))
    const relation = messages.find((m) => m.tag === 'relation')
    if (relation?.tag !== 'relation') throw new Error('no relation message captured')
    relationColumns = relation.columns
    streamed = messages.flatMap((m) => (m.tag === 'insert' ? [m.newTuple] : []))
    registry = await loadTypeRegistry(client)
  } finally {
    await client.end()
  }
})

afterAll(async () => {
  await server?.destroy()
})

function convertRow(texts: Array<string | null>): Record<string, EventValue> {
  const row: Record<string, EventValue> = {}
  relationColumns.forEach((column, i) => {
    const text = texts[i]
    row[column.name] = text === null ? null : registry.forColumn(column).convert(text)
  })
  return row
}

const tupleTexts = (tuple: TupleData) =>
  tuple.map((v) => {
    if (v.kind === 'text') return v.value
    if (v.kind === 'null') return null
    throw new Error(`unexpected ${v.kind} value in an insert`)
  })

describe('type mapping against PostgreSQL (streaming via pgoutput)', () => {
  it('captures one insert per row and a relation with every column', () => {
    expect(streamed).toHaveLength(ROWS.length)
    expect(relationColumns.map((c) => c.name)).toEqual(['id', ...COLUMNS.map(([name]) => name)])
  })

  for (const [index, expected] of EXPECTED.entries()) {
    it(`converts row ${index + 1} to Debezium's values`, () => {
      const row = convertRow(tupleTexts(streamed[index]))
      const full: Record<string, EventValue> = { id: index + 1 }
      for (const [name] of COLUMNS) full[name] = name in expected ? expected[name] : null
      for (const [name, value] of Object.entries(full)) {
        expect({ column: name, value: row[name] }).toEqual({ column: name, value })
      }
    })
  }

  it('declares Debezium schemas for the custom types', () => {
    const schemaOf = (name: string) => registry.forColumn(relationColumns.find((c) => c.name === name)!).schema
    expect(schemaOf('c_mood')).toEqual({
      type: 'string', optional: true, name: 'io.debezium.data.Enum', version: 1, parameters: { allowed: 'sad,ok,happy' },
    })
    expect(schemaOf('c_mood_arr').items).toMatchObject({ name: 'io.debezium.data.Enum', optional: false })
    expect(schemaOf('c_price').parameters).toEqual({ scale: '3', 'connect.decimal.precision': '8' })
    expect(schemaOf('c_numeric_arr').items?.parameters).toEqual({ scale: '2', 'connect.decimal.precision': '5' })
    expect(schemaOf('c_time3').name).toBe('io.debezium.time.Time')
    expect(schemaOf('c_ts').name).toBe('io.debezium.time.MicroTimestamp')
    expect(schemaOf('c_varbit').parameters).toEqual({ length: '2147483647' })
  })
})

describe('type mapping against PostgreSQL (snapshot via COPY … TO STDOUT)', () => {
  it('converts COPY text rows exactly like the streamed rows', async () => {
    const client = new pg.Client(server.config('types'))
    await client.connect()
    let text = ''
    try {
      const columnList = relationColumns.map((c) => c.name).join(', ')
      const stream = client.query(copyTo(`COPY (SELECT ${columnList} FROM all_types ORDER BY id) TO STDOUT`))
      for await (const chunk of stream) text += (chunk as Buffer).toString('utf8')
    } finally {
      await client.end()
    }
    const lines = text.split('\n').filter((line) => line !== '')
    expect(lines).toHaveLength(ROWS.length)
    const copied = lines.map((line) => convertRow(parseCopyTextRow(line)))
    const fromStream = streamed.map((tuple) => convertRow(tupleTexts(tuple)))
    expect(copied).toEqual(fromStream)
    // And byte-for-byte the same texts, which is why one set of converters serves both paths.
    expect(lines.map(parseCopyTextRow)).toEqual(streamed.map(tupleTexts))
  })
})

describe('type mapping against PostgreSQL (snapshot rows written from COPY bytes)', () => {
  for (const timeZone of ['Pacific/Apia', 'UTC']) {
    it(`writes the after image the envelope writes for the streamed row (session time zone ${timeZone})`, async () => {
      const client = new pg.Client(server.config('types'))
      await client.connect()
      const chunks: Buffer[] = []
      try {
        // In UTC, timestamptz takes the byte-level path; in the server's zone it declines and converts.
        await client.query(`SET TimeZone = '${timeZone}'`)
        const columnList = relationColumns.map((c) => c.name).join(', ')
        const stream = client.query(copyTo(`COPY (SELECT ${columnList} FROM all_types ORDER BY id) TO STDOUT`))
        for await (const chunk of stream) chunks.push(chunk as Buffer)
      } finally {
        await client.end()
      }
      const config = parsePostgresConfig({ 'database.hostname': 'h', 'database.dbname': 'types', 'database.user': 'u', 'database.password': 'p' }, 'it')
      const mapper = new ChangeMapper(config, registry)
      const mapped = mapper.defineRelation(
        { tag: 'relation', relationId: 1, schema: 'public', name: 'all_types', replicaIdentity: 'default', columns: relationColumns },
        { primaryKey: ['id'], notNull: new Set(['id']) },
      )
      const encoder = new CopyRowEncoder(mapper)
      const copy = Buffer.concat(chunks)
      let start = 0
      for (const tuple of streamed) {
        const end = copy.indexOf(0x0a, start)
        const out = new ByteWriter()
        encoder.writeAfter(mapped, copy, start, end, out)
        start = end + 1
        const expected = encodeValue(mapper.readEvent(mapped, tupleTexts(tuple), 'true', null, 0n), { schemasEnable: false })
        const after = expected.slice(expected.indexOf('"after":') + 8, expected.indexOf(',"source":'))
        expect(out.bytes.toString('utf8', 0, out.length)).toBe(after)
      }
      expect(start).toBe(copy.length)
    })
  }
})

describe('float8 text in its shortest form (PostgreSQL 12+, extra_float_digits 1, as a snapshot sets it)', () => {
  it('is the JSON the converter writes for every double the byte-level path takes', async () => {
    const client = new pg.Client(server.config('types'))
    await client.connect()
    let texts: string[]
    try {
      await client.query('SET extra_float_digits = 1')
      // 60,000 doubles with 15–17 significant digits across the plain range, plus ones that are exactly decimal.
      const { rows } = await client.query(`
        SELECT (random() * 10 ^ (g % 11 - 3))::float8::text AS t FROM generate_series(1, 60000) g
        UNION ALL SELECT (g / 8.0)::float8::text FROM generate_series(1, 1000) g`)
      texts = rows.map((r) => String(r.t))
    } finally {
      await client.end()
    }
    const mapping = registry.forColumn({ typeOid: 701, typeMod: -1 })
    let taken = 0
    let long = 0
    for (const text of texts) {
      const out = new ByteWriter(32)
      const bytes = Buffer.from(text)
      if (!shortestFloatJson(bytes, 0, bytes.length, out)) continue
      taken++
      if (text.replace(/^[-0.]+|\./g, '').length > 15) long++
      expect(out.bytes.toString('utf8', 0, out.length), text).toBe(mapping.json(text))
    }
    expect(taken).toBeGreaterThan(50_000)
    expect(long).toBeGreaterThan(20_000) // most random doubles need 16 or 17 digits: the case the 15-digit path declines
  })
})

describe('converted rows through the Debezium envelope', () => {
  it('encodes extreme values as Debezium JSON: exact int64, quoted NaN/Infinity, Java doubles', () => {
    const table: TableSchema = {
      schema: 'public',
      table: 'all_types',
      columns: relationColumns.map((c) => ({ ...registry.forColumn(c, c.name !== 'id').schema, field: c.name })),
      keyColumns: ['id'],
    }
    const event: ChangeEvent = {
      op: 'c',
      table,
      before: null,
      after: convertRow(tupleTexts(streamed[1])),
      source: {
        name: 'it', db: 'types', schema: 'public', table: 'all_types', commitTimeUs: 1_000_000n, snapshot: 'false',
        txId: 1, lsn: 100n, lastCommitLsn: 50n, xmin: null,
      },
      processedAtUs: 2_000_000n,
      transaction: null,
    }
    const value = encodeValue(event, { schemasEnable: true }).toString()
    expect(value).toContain('"c_int8":-9223372036854775808,')
    expect(value).toContain('"c_float4":"NaN","c_float8":"-Infinity",')
    expect(value).toContain('"c_ts":9223372036825200000,"c_ts3":-9223372036832400,')
    expect(value).toContain('"c_numeric_var":{"scale":0,"value":"nA=="}')
    expect(value).toContain(
      '{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"c_ts"}',
    )
    expect(value).toContain('{"type":"int32","optional":false,"field":"id"}')
    const third = encodeValue({ ...event, after: convertRow(tupleTexts(streamed[2])) }, { schemasEnable: false })
    expect(third.toString()).toContain('"c_float4":1.0E10,"c_float8":"Infinity",')
    expect(JSON.parse(value).payload.after.c_mood).toBe('sad')
    expect(encodeKey(event, { schemasEnable: false })?.toString()).toBe('{"id":2}')
  })
})

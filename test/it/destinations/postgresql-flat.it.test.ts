/**
 * The `postgresql` destination's flat path against a real server: snapshot reads the decoder kept as flat JSON
 * (flat-json.ts) are copied into COPY text without being parsed. Records are made as the snapshot emitter writes them
 * (one envelope, rows inside) and go through RecordDecoder, as in a pipeline. What the flat path stores must equal what
 * the regular upsert stores for the same events; a redelivery or a re-snapshot falls back to the upsert; a table that
 * does not exist yet, or lacks a column, is created or widened as the regular path would, then copied into. That the flat path ran is read
 * from JSON.parse's calls (it makes none per row), and which statement ran from a statement-level trigger.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { RecordDecoder } from '../../../src/connectors/destinations/decode-record.js'
import type { DestinationRecord, DestinationWriter } from '../../../src/connectors/destinations/destination.js'
import type { LogRecord } from '../../../src/log/topic-log.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { openPostgresqlWriter, statementLog } from './delivery-helpers.js'

let offset = 0

/** A snapshot read's log record, its after image given as JSON text (as the row encoder writes it). */
function read(table: string, id: number, after: string): LogRecord {
  const source = `{"version":"2.7.0.Final","connector":"postgresql","name":"x","ts_ms":1700000000000,"snapshot":"true","db":"src","schema":"public","table":"${table}","txId":null,"lsn":1234}`
  return {
    topic: `x.public.${table}`, partition: 0, offset: offset++, timestamp: 0, headers: {},
    key: Buffer.from(`{"id":${id}}`),
    value: Buffer.from(`{"before":null,"after":${after},"source":${source},"op":"r","ts_ms":1700000000001,"transaction":null}`),
  }
}

/** Rows with every kind of value the flat path copies: escapes, non-ASCII text, numbers, booleans, nulls, JSON text. */
function mixedAfter(id: number, version = 'v1'): string {
  const name = id % 7 === 0 ? `tab\\there, newline\\nthere, back\\\\slash \\"quoted\\" \\u00e9\\u65e5 ${id}` : `name-${id} ünïcödé`
  const amount = id % 5 === 0 ? 'null' : id % 3 === 0 ? String(id * 1.25) : String(-id)
  const doc = `"{\\"n\\": ${id}, \\"s\\": \\"x\\\\ty\\"}"`
  return `{"id":${id},"name":"${version} ${name}","amount":${amount},"score":${id / 4},"flag":${id % 2 === 0},"doc":${doc},"note":null}`
}

const TABLE = '(id bigint PRIMARY KEY, name text, amount numeric, score double precision, flag boolean, doc jsonb, note text)'

describe('postgresql destination flat path', () => {
  let pg: TestPostgres
  const writers: DestinationWriter[] = []
  const signal = new AbortController().signal

  const open = (config: Record<string, unknown> = {}) => openPostgresqlWriter(pg, 'flat', config, writers)
  const rows = async (sql: string) => (await pg.query(sql, [], 'flat')).rows
  const dump = (table: string, schema = 'public') =>
    rows(`SELECT id, name, amount::text, score, flag, doc::text, note FROM ${schema}.${table} ORDER BY id`)

  let log: ReturnType<typeof statementLog>
  const loggedTable = (name: string, columns: string, schema?: string) => log.table(name, columns, schema)
  const statements = (table: string) => log.statements(table)

  /** Decodes the records as a pipeline does; the first of a run is decoded in full, the rest may be flat. */
  function decode(records: LogRecord[]): DestinationRecord[] {
    const decoder = new RecordDecoder()
    return records.map((r) => decoder.decode(r))
  }

  /** Writes `records`; returns how many times JSON.parse ran meanwhile. */
  async function writeCounting(writer: DestinationWriter, records: DestinationRecord[]): Promise<number> {
    const parse = vi.spyOn(JSON, 'parse')
    try {
      await writer.write(records, signal)
      return parse.mock.calls.length
    } finally {
      parse.mockRestore()
    }
  }

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('flat')
    log = statementLog(pg, 'flat')
    await log.install()
  })
  afterAll(async () => {
    for (const w of writers) await w.close()
    await pg?.destroy()
  })

  it('copies flat reads without parsing them, storing what the regular upsert stores', async () => {
    const writer = await open()
    await loggedTable('by_flat', TABLE)
    await loggedTable('by_upsert', TABLE)
    const ids = Array.from({ length: 300 }, (_, i) => i + 1)
    const records = decode(ids.map((id) => read('by_flat', id, mixedAfter(id))))
    expect(records.every((r) => r.flat !== undefined)).toBe(true)
    // The first record was decoded in full (its after image parsed); no other row is.
    expect(await writeCounting(writer, records)).toBeLessThan(10)
    // Ten rows a batch is below the bulk path's minimum: the regular statement applies them.
    for (let i = 0; i < ids.length; i += 10) {
      await writer.write(decode(ids.slice(i, i + 10).map((id) => read('by_upsert', id, mixedAfter(id)))), signal)
    }
    expect(await statements('by_flat')).toEqual(['COPY'])
    expect(new Set(await statements('by_upsert'))).toEqual(new Set(['INSERT']))
    const copied = await dump('by_flat')
    expect(copied).toHaveLength(300)
    expect(copied).toEqual(await dump('by_upsert'))
    expect(await rows(`SELECT name, doc->>'s' AS s FROM public.by_flat WHERE id = 7`)).toEqual([
      { name: 'v1 tab\there, newline\nthere, back\\slash "quoted" é日 7', s: 'x\ty' },
    ])
  })

  it('falls back to the upsert when the rows are there already (a re-snapshot), with the new values', async () => {
    const writer = await open()
    await loggedTable('again', TABLE)
    const batch = (version: string) => decode(Array.from({ length: 100 }, (_, i) => read('again', i + 1, mixedAfter(i + 1, version))))
    await writer.write(batch('v1'), signal)
    await writer.write(batch('v2'), signal)
    expect(await statements('again')).toEqual(['COPY', 'INSERT'])
    expect(await rows(`SELECT count(*)::int AS n FROM public.again WHERE name LIKE 'v2 %'`)).toEqual([{ n: 100 }])
    // A batch read twice (a key repeated within it) cannot be copied either; the last read wins.
    const twice = decode([...Array.from({ length: 80 }, (_, i) => read('again', 200 + i, mixedAfter(200 + i, 'v3'))), read('again', 200, mixedAfter(200, 'v4'))])
    await writer.write(twice, signal)
    expect(await rows(`SELECT name FROM public.again WHERE id = 200`)).toEqual([{ name: 'v4 name-200 ünïcödé' }])
  })

  it('streams a large batch to COPY a slice at a time; a row already there in a late slice makes the whole batch fall back', async () => {
    const writer = await open()
    const batch = (table: string, from: number, to: number, version: string) =>
      decode(Array.from({ length: to - from + 1 }, (_, i) => read(table, from + i, mixedAfter(from + i, version))))
    // 2,500 rows are three slices.
    await loggedTable('sliced', TABLE)
    await writer.write(batch('sliced', 1, 2500, 'v1'), signal)
    expect(await statements('sliced')).toEqual(['COPY'])
    expect(await rows(`SELECT count(*)::int AS n, min(id)::int AS lo, max(id)::int AS hi FROM public.sliced WHERE name LIKE 'v1 %'`)).toEqual([{ n: 2500, lo: 1, hi: 2500 }])
    // Rows 2,201-2,500 (in the third slice) are there already, so COPY fails after two slices went through.
    await loggedTable('resliced', TABLE)
    await writer.write(batch('resliced', 2201, 2500, 'v1'), signal)
    await writer.write(batch('resliced', 1, 2500, 'v2'), signal)
    expect(await statements('resliced')).toEqual(['COPY', 'INSERT'])
    expect(await rows(`SELECT count(*)::int AS n, count(*) FILTER (WHERE name LIKE 'v2 %')::int AS v2 FROM public.resliced`)).toEqual([{ n: 2500, v2: 2500 }])
  })

  it('creates a missing table and adds a missing column with the types the regular path would choose, and copies the batch', async () => {
    const writer = await open()
    const columnTypes = (table: string) =>
      rows(`SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '${table}' ORDER BY column_name`)
    // Without a value schema a column's type comes from its first non-null value: `late` has none in the first half
    // of the batch and `never` none at all (text), so the types depend on more than the first record.
    const first = (id: number) => `{"id":${id},"name":"n${id}","late":${id > 50 ? id / 2 : 'null'},"never":null}`
    const widened = (id: number) => `{"id":${id},"name":"n${id}","late":1,"never":null,"extra":${id % 3 === 0 ? 'true' : 'null'}}`
    const batch = (table: string, from: number, count: number, after: (id: number) => string) =>
      decode(Array.from({ length: count }, (_, i) => read(table, from + i, after(from + i))))
    // Flat path: each batch of a new shape parses the few records that decide the DDL, not every row.
    expect(await writeCounting(writer, batch('created', 1, 100, first))).toBeLessThan(10)
    expect(await writeCounting(writer, batch('created', 101, 100, widened))).toBeLessThan(10)
    expect(await writeCounting(writer, batch('created', 201, 100, widened))).toBeLessThan(10)
    expect(await rows(`SELECT count(*)::int AS n, count(late)::int AS late, count(extra)::int AS extra, sum(late)::float8 AS sum FROM public.created`))
      .toEqual([{ n: 300, late: 250, extra: 67, sum: (51 + 100) * 50 / 2 / 2 + 200 }]) // extra: the multiples of 3 in 101..300
    // The same batches as records that are not flat take the regular path, which types columns from all the rows.
    const regular = (records: DestinationRecord[]): DestinationRecord[] =>
      records.map(({ topic, partition, offset, key, value, valueSchema }) => ({ topic, partition, offset, key, value, valueSchema }))
    await writer.write(regular(batch('regular', 1, 100, first)), signal)
    await writer.write(regular(batch('regular', 101, 100, widened)), signal)
    expect(await columnTypes('created')).toEqual(await columnTypes('regular'))
    expect(await columnTypes('created')).toEqual([
      { name: 'extra', type: 'boolean' }, { name: 'id', type: 'numeric' }, { name: 'late', type: 'numeric' },
      { name: 'name', type: 'text' }, { name: 'never', type: 'text' },
    ])
  })

  it('writes __deleted = false in soft-delete mode', async () => {
    const writer = await open({ 'delete.mode': 'soft', schema: 'soft' })
    await pg.query('CREATE SCHEMA soft', [], 'flat')
    await loggedTable('kept', '(id bigint PRIMARY KEY, name text, __deleted boolean NOT NULL DEFAULT true)', 'soft')
    await writer.write(decode(Array.from({ length: 100 }, (_, i) => read('kept', i, `{"id":${i},"name":"n${i}"}`))), signal)
    expect(await statements('kept')).toEqual(['COPY'])
    expect(await rows(`SELECT count(*)::int AS n FROM soft.kept WHERE NOT __deleted`)).toEqual([{ n: 100 }])
  })
})

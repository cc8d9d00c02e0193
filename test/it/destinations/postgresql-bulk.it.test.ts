/**
 * The `postgresql` destination's bulk path (COPY inside a savepoint) against a real server: which statement applied a
 * step is read from a statement-level trigger that logs `current_query()`, so nothing is mocked. The bulk path must
 * give exactly what the regular upsert gives, fall back when rows are there already, and leave poisoned batches to
 * the regular path's RecordError. Also: JSON text (Debezium's io.debezium.data.Json) is stored parsed in json and
 * jsonb columns on both paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DestinationRecord, DestinationWriter } from '../../../src/connectors/destinations/destination.js'
import { ExactInteger, RecordError } from '../../../src/connectors/destinations/destination.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { openPostgresqlWriter, statementLog } from './delivery-helpers.js'

let offset = 0

function event(table: string, op: 'c' | 'u' | 'r', row: Record<string, unknown>, valueSchema: unknown = null): DestinationRecord {
  return {
    topic: `source_x.public.${table}`,
    partition: 0,
    offset: offset++,
    key: { id: row.id },
    value: { before: null, after: row, source: { schema: 'public', table, lsn: 1000 + offset, ts_ms: 1_700_000_000_000 }, op, ts_ms: 1_700_000_000_001 },
    valueSchema,
  }
}

/** Rows exercising every kind of value the bulk path writes itself. */
function mixedRow(id: number): Record<string, unknown> {
  return {
    id,
    name: id % 7 === 0 ? `tab\there, newline\nthere, back\\slash ${id}` : `name-${id} ünïcödé`,
    amount: id % 5 === 0 ? null : id * 1.25,
    big: new ExactInteger(String(9_007_199_254_740_993n + BigInt(id))),
    flag: id % 2 === 0,
    doc: id % 3 === 0 ? { k: id, tags: ['a', 'b'] } : `{"n": ${id}, "s": "x\\ty"}`,
    raw: `{"id": ${id}}`,
  }
}

const MIXED_TABLE = `(id bigint PRIMARY KEY, name text, amount numeric, big numeric, flag boolean, doc jsonb, raw json)`

describe('postgresql destination bulk path', () => {
  let pg: TestPostgres
  const writers: DestinationWriter[] = []
  const signal = new AbortController().signal

  const open = (database: string, config: Record<string, unknown> = {}) => openPostgresqlWriter(pg, database, config, writers)
  const rows = async (sql: string) => (await pg.query(sql, [], 'bulk')).rows

  let log: ReturnType<typeof statementLog>
  const loggedTable = (name: string, columns: string) => log.table(name, columns)
  const statements = (table: string) => log.statements(table)

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('bulk')
    log = statementLog(pg, 'bulk')
    await log.install()
  })
  afterAll(async () => {
    for (const w of writers) await w.close()
    await pg?.destroy()
  })

  it('applies a batch of snapshot reads with COPY, equal to what the regular upsert writes', async () => {
    const writer = await open('bulk')
    await loggedTable('by_copy', MIXED_TABLE)
    await loggedTable('by_upsert', MIXED_TABLE)
    const all = Array.from({ length: 300 }, (_, i) => mixedRow(i + 1))
    await writer.write(all.map((r) => event('by_copy', 'r', r)), signal)
    // Ten rows a batch is below the bulk path's minimum: the regular statement applies them.
    for (let i = 0; i < all.length; i += 10) await writer.write(all.slice(i, i + 10).map((r) => event('by_upsert', 'r', r)), signal)

    expect(await statements('by_copy')).toEqual(['COPY'])
    expect(new Set(await statements('by_upsert'))).toEqual(new Set(['INSERT']))
    const dump = (table: string) => rows(`SELECT id, name, amount::text, big::text, flag, doc::text, raw::text FROM public.${table} ORDER BY id`)
    const copied = await dump('by_copy')
    expect(copied).toHaveLength(300)
    expect(copied).toEqual(await dump('by_upsert'))
    // JSON text is stored parsed (an object), on both paths; an object value is stored as it is.
    expect(await rows(`SELECT count(*)::int AS n FROM public.by_copy WHERE jsonb_typeof(doc) = 'object' AND json_typeof(raw) = 'object'`)).toEqual([{ n: 300 }])
    expect(await rows(`SELECT doc->>'s' AS s FROM public.by_upsert WHERE id = 1`)).toEqual([{ s: 'x\ty' }])
  })

  it('falls back to the upsert when rows are there already, and skips COPY for the next steps of that table', async () => {
    const writer = await open('bulk')
    await loggedTable('again', '(id bigint PRIMARY KEY, name text)')
    const batch = (version: string, from = 1) => Array.from({ length: 100 }, (_, i) => event('again', 'r', { id: from + i, name: `${version}-${from + i}` }))
    await writer.write(batch('v1'), signal)
    // A re-snapshot: every row exists, with other values. COPY fails on the key; the upsert updates them.
    await writer.write(batch('v2'), signal)
    expect(await rows(`SELECT count(*)::int AS n FROM public.again WHERE name LIKE 'v2-%'`)).toEqual([{ n: 100 }])
    // New rows right after a failed COPY still go through the upsert (the back-off).
    await writer.write(batch('v3', 101), signal)
    expect(await statements('again')).toEqual(['COPY', 'INSERT', 'INSERT'])
    expect(await rows(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM public.again`)).toEqual([{ n: 200, ids: 200 }])
  })

  it('leaves updates, and tables without a unique key on the conflict columns, to the regular statement', async () => {
    const writer = await open('bulk')
    await loggedTable('updates', '(id bigint PRIMARY KEY, name text)')
    await writer.write(Array.from({ length: 100 }, (_, i) => event('updates', i === 50 ? 'u' : 'c', { id: i, name: 'x' })), signal)
    expect(await statements('updates')).toEqual(['INSERT'])
    // The key has no unique index: COPY could not notice a redelivered row, so it is not tried (and the regular
    // statement's ON CONFLICT reports the missing index instead of duplicating rows).
    await loggedTable('no_unique', '(id bigint, name text)')
    const failure = await writer.write(Array.from({ length: 100 }, (_, i) => event('no_unique', 'r', { id: i, name: 'x' })), signal).then(() => null, (e: unknown) => e)
    expect(failure).toBeInstanceOf(Error)
    expect(await rows(`SELECT count(*)::int AS n FROM public.no_unique`)).toEqual([{ n: 0 }])
  })

  it('appends an insert-mode batch with COPY and inserts nothing twice when it is redelivered', async () => {
    const writer = await open('bulk', { 'insert.mode': 'insert' })
    const batch = Array.from({ length: 100 }, (_, i) => event('appended', i % 2 ? 'u' : 'c', { id: i % 10, v: `v${i}` }))
    await writer.write(batch, signal)
    await writer.write(batch, signal)
    const stored = await rows(`SELECT id::int, v, __op FROM public.appended ORDER BY __offset`)
    expect(stored).toHaveLength(100)
    expect(stored[1]).toEqual({ id: 1, v: 'v1', __op: 'u' })
  })

  it('writes __deleted = false with COPY in soft-delete mode, and a later delete still marks the row', async () => {
    const writer = await open('bulk', { 'delete.mode': 'soft', schema: 'soft' })
    await pg.query('CREATE SCHEMA soft', [], 'bulk')
    await log.table('kept', '(id bigint PRIMARY KEY, name text, __deleted boolean NOT NULL DEFAULT false)', 'soft')
    await writer.write(Array.from({ length: 100 }, (_, i) => event('kept', 'r', { id: i, name: `n${i}` })), signal)
    expect(await statements('kept')).toEqual(['COPY'])
    await writer.write([{ ...event('kept', 'c', { id: 7, name: 'n7' }), value: { before: { id: 7, name: 'n7' }, after: null, source: { schema: 'public', table: 'kept' }, op: 'd' } }], signal)
    expect(await rows(`SELECT count(*)::int AS n, count(*) FILTER (WHERE __deleted)::int AS deleted FROM soft.kept`)).toEqual([{ n: 100, deleted: 1 }])
    expect(await rows(`SELECT __deleted FROM soft.kept WHERE id = 7`)).toEqual([{ __deleted: true }])
  })

  it('reports a value the column refuses as a RecordError, with nothing of the batch applied', async () => {
    const writer = await open('bulk')
    await loggedTable('poisoned', '(id bigint PRIMARY KEY, n integer)')
    const batch = Array.from({ length: 100 }, (_, i) => event('poisoned', 'r', { id: i, n: i === 70 ? 'not a number' : i }))
    await expect(writer.write(batch, signal)).rejects.toBeInstanceOf(RecordError)
    expect(await rows(`SELECT count(*)::int AS n FROM public.poisoned`)).toEqual([{ n: 0 }])
    const good = batch.filter((_, i) => i !== 70)
    const fresh = await open('bulk') // a new writer: no back-off from the failed try
    await fresh.write(good, signal)
    expect(await rows(`SELECT count(*)::int AS n FROM public.poisoned`)).toEqual([{ n: 99 }])
    expect((await statements('poisoned')).at(-1)).toBe('COPY')
  })

  it('creates json columns from Debezium Json fields and stores their text parsed', async () => {
    const writer = await open('bulk')
    const schema = {
      type: 'struct',
      fields: [{ field: 'after', type: 'struct', fields: [{ field: 'id', type: 'int64' }, { field: 'doc', type: 'string', name: 'io.debezium.data.Json' }] }],
    }
    await writer.write([event('from_schema', 'c', { id: 1, doc: '{"a": {"b": [1, 2]}}' }, schema), event('from_schema', 'c', { id: 2, doc: '"just a string"' }, schema)], signal)
    expect(await rows(`SELECT id::int, doc #> '{a,b}' AS b, jsonb_typeof(doc) AS type FROM public.from_schema ORDER BY id`)).toEqual([
      { id: 1, b: [1, 2], type: 'object' },
      { id: 2, b: null, type: 'string' },
    ])
    const invalid = await writer.write([event('from_schema', 'c', { id: 3, doc: 'not json' }, schema)], signal).then(() => null, (e: unknown) => e)
    expect(invalid).toBeInstanceOf(RecordError)
  })
})

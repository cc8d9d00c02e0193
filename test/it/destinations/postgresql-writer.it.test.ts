/**
 * The `postgresql` destination writer against a real server, fed Debezium records directly: upsert and insert
 * modes, soft deletes, new columns, truncates, keyless tables, idempotent redelivery, rejected values and an
 * unreachable target.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DestinationRecord, DestinationWriter } from '../../../src/connectors/destinations/destination.js'
import { RecordError } from '../../../src/connectors/destinations/destination.js'
import { postgresqlDestination } from '../../../src/connectors/destinations/postgresql/postgresql-destination.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { openPostgresqlWriter } from './delivery-helpers.js'

const silent = { info() {}, warn() {}, error() {}, debug() {} }
let offset = 0

function event(table: string, op: 'c' | 'u' | 'd' | 'r' | 't', row: Record<string, unknown> | null, key: Record<string, unknown> | null = row ? { id: row.id } : null): DestinationRecord {
  return {
    topic: `source_x.public.${table}`,
    partition: 0,
    offset: offset++,
    key: op === 't' ? null : key,
    value: {
      before: op === 'd' ? row : null,
      after: op === 'd' || op === 't' ? null : row,
      source: { schema: 'public', table, lsn: 1000 + offset, ts_ms: 1_700_000_000_000 },
      op,
      ts_ms: 1_700_000_000_001,
    },
    valueSchema: null,
  }
}

describe('postgresql destination writer', () => {
  let pg: TestPostgres
  const writers: DestinationWriter[] = []
  const signal = new AbortController().signal

  const open = (database: string, config: Record<string, unknown> = {}) => openPostgresqlWriter(pg, database, config, writers)
  const rows = async (database: string, sql: string) => (await pg.query(sql, [], database)).rows

  beforeAll(async () => {
    pg = await startPostgres()
    for (const db of ['upsert', 'soft', 'append', 'poison']) await pg.createDatabase(db)
  })
  afterAll(async () => {
    for (const w of writers) await w.close()
    await pg?.destroy()
  })

  it('upserts set-based, the last event per key wins, and a redelivered batch changes nothing', async () => {
    const writer = await open('upsert')
    const batch = [
      event('items', 'r', { id: 1, name: 'one', qty: 1 }),
      event('items', 'r', { id: 2, name: 'two', qty: 2 }),
      event('items', 'c', { id: 3, name: 'three', qty: 3.5 }),
      event('items', 'u', { id: 1, name: 'uno', qty: 10 }),
      event('items', 'd', { id: 2, name: null, qty: null }),
      { ...event('items', 'd', null, { id: 2 }), value: null }, // tombstone
      event('items', 'u', { id: 1, name: 'eins', qty: 11 }),
    ]
    await writer.write(batch, signal)
    const expected = [{ id: '1', name: 'eins', qty: '11' }, { id: '3', name: 'three', qty: '3.5' }]
    expect(await rows('upsert', 'SELECT id, name, qty FROM public.items ORDER BY id')).toEqual(expected)
    await writer.write(batch, signal)
    expect(await rows('upsert', 'SELECT id, name, qty FROM public.items ORDER BY id')).toEqual(expected)
    const types = await rows('upsert', "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position")
    expect(types).toEqual([
      // Schemaless JSON: numbers become numeric, so a later decimal fits a column first seen with integers.
      { column_name: 'id', data_type: 'numeric' },
      { column_name: 'name', data_type: 'text' },
      { column_name: 'qty', data_type: 'numeric' },
    ])
  })

  it('adds new columns when events carry them, and empties the table on a truncate', async () => {
    const writer = await open('upsert')
    await writer.write([event('evolving', 'c', { id: 1, a: 'x' })], signal)
    await writer.write([event('evolving', 'c', { id: 2, a: 'y', b: true, doc: { k: [1, 2] } })], signal)
    expect(await rows('upsert', 'SELECT id::int, a, b, doc FROM public.evolving ORDER BY id')).toEqual([
      { id: 1, a: 'x', b: null, doc: null },
      { id: 2, a: 'y', b: true, doc: { k: [1, 2] } },
    ])
    await writer.write([event('evolving', 'c', { id: 3, a: 'z' }), event('evolving', 't', null), event('evolving', 'c', { id: 4, a: 'after' })], signal)
    expect(await rows('upsert', 'SELECT id::int, a FROM public.evolving ORDER BY id')).toEqual([{ id: 4, a: 'after' }])
  })

  it('keeps the stored value of an unchanged TOASTed column (Debezium placeholder)', async () => {
    const writer = await open('upsert')
    const placeholder = '__debezium_unavailable_value'
    await writer.write([event('docs', 'c', { id: 1, body: 'long text', n: 1 }), event('docs', 'c', { id: 2, body: 'other', n: 1 })], signal)
    await writer.write([event('docs', 'u', { id: 1, body: placeholder, n: 2 }), event('docs', 'u', { id: 2, body: 'changed', n: 2 }), event('docs', 'u', { id: 3, body: placeholder, n: 3 })], signal)
    expect(await rows('upsert', 'SELECT id::int, body, n::int FROM public.docs ORDER BY id')).toEqual([
      { id: 1, body: 'long text', n: 2 },
      { id: 2, body: 'changed', n: 2 },
      { id: 3, body: null, n: 3 },
    ])
  })

  it('soft-deletes with __deleted and revives a row inserted again', async () => {
    const writer = await open('soft', { 'delete.mode': 'soft', schema: 'mirror' })
    await writer.write([event('t', 'c', { id: 1, v: 'a' }), event('t', 'c', { id: 2, v: 'b' })], signal)
    await writer.write([event('t', 'd', { id: 1, v: 'a' })], signal)
    expect(await rows('soft', 'SELECT id::int, v, __deleted FROM mirror.t ORDER BY id')).toEqual([
      { id: 1, v: 'a', __deleted: true },
      { id: 2, v: 'b', __deleted: false },
    ])
    await writer.write([event('t', 'c', { id: 1, v: 'again' })], signal)
    expect(await rows('soft', 'SELECT id::int, v, __deleted FROM mirror.t WHERE id = 1')).toEqual([{ id: 1, v: 'again', __deleted: false }])
  })

  it('insert mode appends every change with its op and position, once, even when redelivered', async () => {
    const writer = await open('append', { 'insert.mode': 'insert' })
    const batch = [event('log', 'c', { id: 1, v: 'a' }), event('log', 'u', { id: 1, v: 'b' }), event('log', 'd', { id: 1, v: 'b' })]
    await writer.write(batch, signal)
    await writer.write(batch, signal)
    const stored = await rows('append', 'SELECT id::int, v, __op, __source_lsn::int AS lsn FROM public.log ORDER BY __offset')
    expect(stored.map((r) => [r.id, r.v, r.__op])).toEqual([[1, 'a', 'c'], [1, 'b', 'u'], [1, 'b', 'd']])
    expect(stored.every((r) => r.lsn > 1000)).toBe(true)
    // Keyless tables are appended in upsert mode too.
    const upsertWriter = await open('append')
    await upsertWriter.write([event('keyless', 'c', { at: 1 }, null), event('keyless', 'c', { at: 1 }, null)], signal)
    expect(await rows('append', 'SELECT at::int, __op FROM public.keyless')).toEqual([{ at: 1, __op: 'c' }, { at: 1, __op: 'c' }])
  })

  it('rejects a value the target column refuses with a RecordError and applies nothing of that batch', async () => {
    const writer = await open('poison')
    await writer.write([event('p', 'c', { id: 1, n: 5 })], signal)
    const bad = [event('p', 'c', { id: 2, n: 6 }), event('p', 'c', { id: 3, n: 'not a number' })]
    await expect(writer.write(bad, signal)).rejects.toBeInstanceOf(RecordError)
    expect(await rows('poison', 'SELECT id::int, n::int FROM public.p ORDER BY id')).toEqual([{ id: 1, n: 5 }])
    await writer.write([bad[0]], signal)
    expect(await rows('poison', 'SELECT count(*)::int AS n FROM public.p')).toEqual([{ n: 2 }])
  })

  it('fails with a retriable (non-record) error when the target is unreachable', async () => {
    const writer = await postgresqlDestination.open({
      destinationId: 'd2',
      logger: silent,
      config: { 'database.hostname': '127.0.0.1', 'database.port': 1, 'database.user': 'x', 'database.password': 'y', 'database.dbname': 'z' },
    })
    writers.push(writer)
    const failure = await writer.write([event('x', 'c', { id: 1 })], signal).then(() => null, (err: unknown) => err)
    expect(failure).toBeInstanceOf(Error)
    expect(failure).not.toBeInstanceOf(RecordError)
  })
})

/**
 * With `value.converter.schemas.enable`, a PostgreSQL source table of many types arrives in a PostgreSQL destination
 * as native columns holding the same values: the target's columns have the source's types (numeric, date, time,
 * timestamp, timestamptz, interval, uuid, bytea, jsonb…) and every value, printed by PostgreSQL, equals the source's,
 * through the snapshot (bulk path) and streamed inserts, updates and deletes (regular path).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig } from '../../harness/sources.js'
import { waitFor } from '../../harness/wait-for.js'
import { createDestination, createPipeline, pgDestinationConfig } from './delivery-helpers.js'

const COLUMNS: Array<[string, string, string]> = [
  // name, source type, the target type Sluice creates
  ['amount', 'numeric(12,2)', 'numeric'],
  ['ratio', 'numeric', 'numeric'],
  ['day', 'date', 'date'],
  ['at_ms', 'timestamp(3)', 'timestamp without time zone'],
  ['at_us', 'timestamp', 'timestamp without time zone'],
  ['at_tz', 'timestamptz', 'timestamp with time zone'],
  ['t_ms', 'time(3)', 'time without time zone'],
  ['t_us', 'time', 'time without time zone'],
  ['span', 'interval', 'interval'],
  ['ident', 'uuid', 'uuid'],
  ['blob', 'bytea', 'bytea'],
  ['doc', 'jsonb', 'jsonb'],
  ['note', 'text', 'text'],
  ['flag', 'boolean', 'boolean'],
  ['score', 'double precision', 'double precision'],
]

const ROW = (id: number) => `(${id}, ${(id * 12.34 - 500).toFixed(2)}, ${id % 3 === 0 ? 'NULL' : `${id}.000123456789`},
  DATE '2024-02-29' + ${id} - 1000, TIMESTAMP '1999-12-31 23:59:59.123' + interval '${id} hours',
  TIMESTAMP '2024-01-01 00:00:00.000001' - interval '${id} days', TIMESTAMPTZ '2024-06-01 12:00:00.5+02' + interval '${id} minutes',
  TIME '23:59:59.999', TIME '00:00:00.000001' + interval '${id} seconds', interval '${id} days ${id} hours 1.5 seconds',
  md5('${id}')::uuid, decode(md5('${id}'), 'hex'), '{"n": ${id}, "nested": {"a": [1, 2.50]}}', 'line ${id}\ttab\\back', ${id % 2 === 0}, ${id} / 7.0)`

describe('native types in a PostgreSQL destination', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await pg.query(`CREATE TABLE typed (id int PRIMARY KEY, ${COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`)
    await pg.query(`INSERT INTO typed VALUES ${Array.from({ length: 200 }, (_, i) => ROW(i + 1)).join(', ')}`)
    // Edges: infinities, a BC date and timestamp, a negative decimal below 1, all-null.
    await pg.query(`INSERT INTO typed (id, amount, ratio, day, at_us, at_tz) VALUES
      (1001, -0.05, -0.000000001, 'infinity', '-infinity', 'infinity'),
      (1002, 0, 1e20, '0044-03-15 BC', '0044-03-15 12:30:00.25 BC', '1900-01-01 00:00:00+00')`)
    await pg.query('INSERT INTO typed (id) VALUES (1003)')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  // Debezium's MicroDuration is a length of time, not PostgreSQL's months/days/time parts: `1 day 25:00:00` arrives as
  // `2 days 01:00:00`, the same interval (they compare equal), so intervals are compared justified.
  const expression = (name: string) => (name === 'span' ? 'justify_hours(span)::text AS span' : `${name}::text`)
  const dump = async (database: string) =>
    (await pg.query(`SELECT id, ${COLUMNS.map(([name]) => expression(name)).join(', ')} FROM public.typed ORDER BY id`, [], database)).rows

  it('creates native columns and stores every value as the source holds it', async () => {
    const sourceId = await createSource(api, pgSourceConfig(pg, { 'snapshot.mode': 'initial', 'value.converter.schemas.enable': true }))
    const destinationId = await createDestination(api, pgDestinationConfig(pg, 'target'))
    await createPipeline(api, sourceId, destinationId)
    const source = await dump('postgres')
    await waitFor(() => dump('target').catch(() => []), (rows) => rows.length === source.length, { timeoutMs: 120_000, message: 'snapshot delivered' })
    expect(await dump('target')).toEqual(source)

    const types = await pg.query(
      `SELECT column_name AS name, format_type(atttypid, NULL) AS type FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 'public.typed'::regclass AND a.attname = c.column_name
        WHERE c.table_schema = 'public' AND c.table_name = 'typed' AND c.column_name <> 'id'`, [], 'target')
    expect(Object.fromEntries(types.rows.map((r) => [r.name, r.type]))).toEqual(Object.fromEntries(COLUMNS.map(([name, , type]) => [name, type])))

    // Streamed changes take the regular statement (small batches, updates, deletes).
    await pg.query(`UPDATE typed SET amount = amount + 0.01, at_us = at_us + interval '1 microsecond', blob = '\\x00ff' WHERE id % 10 = 0`)
    await pg.query(`DELETE FROM typed WHERE id % 25 = 0`)
    await pg.query(`INSERT INTO typed VALUES ${ROW(5000)}`)
    const changed = await dump('postgres')
    await waitFor(() => dump('target'), (rows) => JSON.stringify(rows) === JSON.stringify(changed), { timeoutMs: 60_000, message: 'streamed changes applied' })
  })
})

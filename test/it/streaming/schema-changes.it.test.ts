/**
 * Schema changes on a captured table while it streams: each DDL shows up in the next event's value and in its
 * Kafka Connect schema (value schemas are switched on so the column types can be checked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { action, createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { latestOffset, waitForRecords } from '../../harness/topic-reader.js'

/** The `after` struct's field schemas of an envelope written with schemas, by column name. */
function afterFields(value: any): Record<string, { type: string; optional: boolean; name?: string }> {
  const after = value.schema.fields.find((f: any) => f.field === 'after')
  return Object.fromEntries(
    after.fields.map((f: any) => [f.field, { type: f.type, optional: f.optional, ...(f.name ? { name: f.name } : {}) }]),
  )
}

describe('streaming: schema changes on a captured table', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient
  let topic: string
  let id: string

  beforeAll(async () => {
    pgServer = await startPostgres()
    await pgServer.query('CREATE TABLE products (id int PRIMARY KEY, qty int NOT NULL, name text)')
    t = await startTestSluice()
    api = adminClient(t)
    const config = pgSourceConfig(pgServer, { 'table.include.list': 'public.products', 'value.converter.schemas.enable': true })
    id = await createSource(api, config)
    topic = topicOf(id, 'products')
    await waitForStatus(api, id, 'Active')
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  /** Runs the statements, then returns the next `count` events (payload and schema). */
  async function next(count: number, ...statements: string[]): Promise<any[]> {
    const from = await latestOffset(api, topic)
    for (const sql of statements) await pgServer.query(sql)
    const records = await waitForRecords(api, topic, from, count)
    return records.filter((r) => r.value !== null).map((r) => r.value)
  }

  it('shows ADD COLUMN, DROP COLUMN and type changes in the next events', async () => {
    const [first] = await next(1, "INSERT INTO products VALUES (1, 5, 'apple')")
    expect(first.payload.after).toEqual({ id: 1, qty: 5, name: 'apple' })
    expect(afterFields(first)).toMatchObject({
      qty: { type: 'int32', optional: false },
      name: { type: 'string', optional: true },
    })

    const added = await next(
      2,
      "ALTER TABLE products ADD COLUMN color text NOT NULL DEFAULT 'red'",
      "INSERT INTO products VALUES (2, 6, 'pear', 'blue')",
      'UPDATE products SET qty = 7 WHERE id = 1',
    )
    expect(added.map((e) => e.payload.after)).toEqual([
      { id: 2, qty: 6, name: 'pear', color: 'blue' },
      { id: 1, qty: 7, name: 'apple', color: 'red' },
    ])
    expect(afterFields(added[0]).color).toEqual({ type: 'string', optional: false })

    const [dropped] = await next(1, 'ALTER TABLE products DROP COLUMN name', "INSERT INTO products VALUES (3, 8, 'green')")
    expect(dropped.payload.after).toEqual({ id: 3, qty: 8, color: 'green' })
    expect(Object.keys(afterFields(dropped))).toEqual(['id', 'qty', 'color'])

    const [widened] = await next(
      1,
      'ALTER TABLE products ALTER COLUMN qty TYPE bigint',
      "INSERT INTO products VALUES (4, 5000000000, 'black')",
    )
    expect(widened.payload.after).toEqual({ id: 4, qty: 5000000000, color: 'black' })
    expect(afterFields(widened).qty).toEqual({ type: 'int64', optional: false })

    const [varchar] = await next(
      1,
      'ALTER TABLE products ALTER COLUMN color TYPE varchar(20)',
      "UPDATE products SET color = 'white' WHERE id = 4",
    )
    expect(varchar.payload).toMatchObject({ op: 'u', after: { id: 4, qty: 5000000000, color: 'white' } })
    expect(afterFields(varchar).color).toEqual({ type: 'string', optional: false })

    const [deleted] = await next(1, 'DELETE FROM products WHERE id = 3')
    expect(deleted.payload).toMatchObject({ op: 'd', before: { id: 3 }, after: null })
  })

  it('maps a column of an enum type created after the source started', async () => {
    const [event] = await next(
      1,
      "CREATE TYPE mood AS ENUM ('sad', 'happy')",
      "ALTER TABLE products ADD COLUMN mood mood",
      "INSERT INTO products (id, qty, color, mood) VALUES (10, 1, 'grey', 'happy')",
    )
    expect(event.payload.after).toEqual({ id: 10, qty: 1, color: 'grey', mood: 'happy' })
    expect(afterFields(event).mood).toMatchObject({ type: 'string', optional: true, name: 'io.debezium.data.Enum' })
    const [update] = await next(1, "UPDATE products SET mood = 'sad' WHERE id = 10")
    expect(update.payload.after.mood).toBe('sad')
  })

  it('decodes changes made under an older schema when it reads them after later DDL (a lagging source)', async () => {
    await action(api, id, 'pause')
    await waitForStatus(api, id, 'Paused')
    const from = await latestOffset(api, topic)
    await pgServer.query("INSERT INTO products (id, qty, color) VALUES (20, 1, 'a')")
    await pgServer.query('ALTER TABLE products ADD COLUMN note text')
    await pgServer.query("INSERT INTO products (id, qty, color, note) VALUES (21, 2, 'b', 'n')")
    await pgServer.query('ALTER TABLE products DROP COLUMN mood')
    await pgServer.query("INSERT INTO products (id, qty, color, note) VALUES (22, 3, 'c', 'm')")
    await pgServer.query("INSERT INTO products (id, qty, color, note) VALUES (23, 4, 'd', NULL)")
    // A constraint added later must not make the schema of earlier events claim a null value is impossible.
    await pgServer.query("UPDATE products SET note = 'filled' WHERE note IS NULL")
    await pgServer.query('ALTER TABLE products ALTER COLUMN note SET NOT NULL')
    await action(api, id, 'resume')
    const records = await waitForRecords(api, topic, from, 4)
    expect(records[3].value.payload.after).toEqual({ id: 23, qty: 4, color: 'd', note: null })
    expect(afterFields(records[3].value).note).toEqual({ type: 'string', optional: true })
    const events = records.slice(0, 3).map((r) => r.value.payload.after)
    expect(events).toEqual([
      { id: 20, qty: 1, color: 'a', mood: null },
      { id: 21, qty: 2, color: 'b', mood: null, note: 'n' },
      { id: 22, qty: 3, color: 'c', note: 'm' },
    ])
  })
})

import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError } from '../../../src/connectors/connector-error.js'
import { checkSource, listTables } from '../../../src/connectors/postgres/replication/preflight.js'
import { dropSlot } from '../../../src/connectors/postgres/replication/slot.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'

let server: TestPostgres
let replicaServer: TestPostgres
const clients: pg.Client[] = []

async function connectAs(target: TestPostgres, user?: string): Promise<pg.Client> {
  const client = new pg.Client({ ...target.config(), ...(user ? { user, password: 'pw' } : {}) })
  await client.connect()
  clients.push(client)
  return client
}

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => new Error('expected the check to fail'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConnectorError)
  expect(error).toMatchObject({ retriable: false })
  return error as ConnectorError
}

const check = { tables: [{ schema: 'public', table: 'orders' }], slotName: 'pre_slot', publicationName: 'pre_pub' }

beforeAll(async () => {
  const replica = startPostgres({ settings: { wal_level: 'replica' } })
  ;[server, replicaServer] = await Promise.all([startPostgres(), replica])
  await server.query(`
    CREATE TABLE orders (id int PRIMARY KEY);
    CREATE SCHEMA "Sales Dept";
    CREATE TABLE "Sales Dept"."Big ""Deals""" (id int PRIMARY KEY);
    CREATE TABLE "Sales Dept".archive (id int PRIMARY KEY);
    CREATE TABLE public.order_lines (id int PRIMARY KEY);
    CREATE ROLE plain LOGIN PASSWORD 'pw';
    CREATE ROLE streamer LOGIN REPLICATION PASSWORD 'pw';
    REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
  `)
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()))
  await Promise.all([server?.destroy(), replicaServer?.destroy()])
})

describe('preflight checks', () => {
  it('passes for a superuser on a logical server', async () => {
    await expect(checkSource(await connectAs(server), check)).resolves.toBeUndefined()
  })

  it('explains how to fix wal_level', async () => {
    await replicaServer.query('CREATE TABLE orders (id int PRIMARY KEY)')
    const error = await failure(checkSource(await connectAs(replicaServer), check))
    expect(error.kind).toBe('wal_level')
    expect(error.message).toMatch(/wal_level is 'replica'.*ALTER SYSTEM SET wal_level = logical.*restart/)
  })

  it('asks for REPLICATION when the role has neither it nor superuser', async () => {
    const error = await failure(checkSource(await connectAs(server, 'plain'), check))
    expect(error.kind).toBe('privilege')
    expect(error.message).toContain('ALTER ROLE "plain" WITH REPLICATION')
  })

  it('names missing tables', async () => {
    const tables = [...check.tables, { schema: 'public', table: 'nope' }, { schema: 'ghost', table: 'x' }]
    const error = await failure(checkSource(await connectAs(server), { ...check, tables }))
    expect(error.kind).toBe('missing_table')
    expect(error.message).toContain('public.nope, ghost.x do not exist')
  })

  it('asks for SELECT on unreadable tables', async () => {
    const error = await failure(checkSource(await connectAs(server, 'streamer'), check))
    expect(error.kind).toBe('privilege')
    expect(error.message).toContain('lacks SELECT on public.orders')
    expect(error.message).toContain('GRANT SELECT ON "public"."orders" TO "streamer"')
  })

  it('reports a missing publication the role cannot create', async () => {
    await server.query('GRANT SELECT ON orders TO streamer')
    const error = await failure(checkSource(await connectAs(server, 'streamer'), check))
    expect(error.kind).toBe('publication')
    expect(error.message).toContain('lacks CREATE on database "postgres"')
    expect(error.message).toContain('CREATE PUBLICATION "pre_pub" FOR TABLE "public"."orders"')

    await server.query('GRANT CREATE ON DATABASE postgres TO streamer')
    const notOwner = await failure(checkSource(await connectAs(server, 'streamer'), check))
    expect(notOwner.message).toContain('does not own public.orders')

    await server.query('CREATE PUBLICATION pre_pub FOR TABLE orders')
    await expect(checkSource(await connectAs(server, 'streamer'), check)).resolves.toBeUndefined()
  })

  it('reports exhausted replication slots, naming the inactive ones', async () => {
    const admin = await connectAs(server)
    const { rows } = await admin.query(`SELECT current_setting('max_replication_slots')::int AS max`)
    const names = Array.from({ length: rows[0].max }, (_, i) => `filler_${i}`)
    for (const name of names) await admin.query('SELECT pg_create_physical_replication_slot($1)', [name])
    try {
      const error = await failure(checkSource(admin, check))
      expect(error.kind).toBe('slots_exhausted')
      expect(error.message).toContain(`all ${rows[0].max} replication slots are in use`)
      expect(error.message).toContain('filler_0')
      // An existing slot of this source needs no free one.
      await admin.query('SELECT pg_drop_replication_slot($1)', [names[0]])
      await admin.query(`SELECT pg_create_logical_replication_slot('pre_slot', 'pgoutput')`)
      await expect(checkSource(admin, check)).resolves.toBeUndefined()
    } finally {
      for (const name of [...names, 'pre_slot']) await dropSlot(admin, name)
    }
  })
})

describe('listTables', () => {
  it('resolves anchored include lists to the tables present, in a stable order', async () => {
    const client = await connectAs(server)
    expect(await listTables(client, { schemaInclude: ['sales dept'], tableInclude: [] })).toEqual([
      { schema: 'Sales Dept', table: 'Big "Deals"' },
      { schema: 'Sales Dept', table: 'archive' },
    ])
    const byTable = { schemaInclude: [], tableInclude: ['public\\.order.*', 'Sales Dept\\.Big.*'] }
    expect(await listTables(client, byTable)).toEqual([
      { schema: 'Sales Dept', table: 'Big "Deals"' },
      { schema: 'public', table: 'order_lines' },
      { schema: 'public', table: 'orders' },
    ])
    // Anchored: a partial match selects nothing.
    expect(await listTables(client, { schemaInclude: ['pub'], tableInclude: [] })).toEqual([])
    const all = await listTables(client, { schemaInclude: [], tableInclude: [] })
    expect(all.map((t) => t.schema)).not.toContain('pg_catalog')
    expect(all).toHaveLength(4)
  })
})

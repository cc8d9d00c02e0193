import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError } from '../../../src/connectors/connector-error.js'
import {
  dropPublication,
  ensurePublication,
  publicationTables,
} from '../../../src/connectors/postgres/replication/publication.js'
import { connectReplication } from '../../../src/connectors/postgres/replication/replication-connection.js'
import type { ReplicationStream } from '../../../src/connectors/postgres/replication/replication-stream.js'
import { startPostgres, type TestPostgres } from '../../harness/postgres.js'
import { iterate, readTransactions } from '../../harness/replication-reader.js'

const PUB = 'Sluice "Pub", v1'
const deals = { schema: 'Sales Dept', table: 'Big "Deals"' }
const archive = { schema: 'Sales Dept', table: 'archive' }
const lower = { schema: 'public', table: 'lower' }

let server: TestPostgres
let admin: pg.Client
let stream: ReplicationStream | undefined

beforeAll(async () => {
  server = await startPostgres()
  admin = new pg.Client(server.config())
  await admin.connect()
  await admin.query(`
    CREATE SCHEMA "Sales Dept";
    CREATE TABLE "Sales Dept"."Big ""Deals""" (id int PRIMARY KEY, note text);
    CREATE TABLE "Sales Dept".archive (id int PRIMARY KEY);
    CREATE TABLE public.lower (id int PRIMARY KEY);
  `)
})

afterAll(async () => {
  await stream?.close()
  await admin?.end()
  await server?.destroy()
})

describe('publications', () => {
  it('creates, keeps, alters and drops a publication with quoted identifiers', async () => {
    expect(await publicationTables(admin, PUB)).toBeNull()
    expect(await ensurePublication(admin, PUB, [lower, deals, deals])).toBe('created')
    expect(await publicationTables(admin, PUB)).toEqual([deals, lower])
    expect(await ensurePublication(admin, PUB, [deals, lower])).toBe('unchanged')

    expect(await ensurePublication(admin, PUB, [archive, deals])).toBe('altered')
    expect(await publicationTables(admin, PUB)).toEqual([deals, archive])

    const error = await ensurePublication(admin, PUB, [lower], { manage: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error).toMatchObject({ kind: 'publication', retriable: false })
    expect((error as Error).message).toContain('publishes Sales Dept.Big "Deals", Sales Dept.archive')
    expect(await publicationTables(admin, PUB)).toEqual([deals, archive])

    expect(await ensurePublication(admin, PUB, 'all')).toBe('altered')
    expect(await publicationTables(admin, PUB)).toBe('all')
    expect(await ensurePublication(admin, PUB, [])).toBe('altered')
    expect(await publicationTables(admin, PUB)).toEqual([])
    expect(await ensurePublication(admin, PUB, [lower])).toBe('altered')
    expect(await ensurePublication(admin, PUB, [])).toBe('altered')
    expect(await publicationTables(admin, PUB)).toEqual([])

    expect(await dropPublication(admin, PUB)).toBe(true)
    expect(await publicationTables(admin, PUB)).toBeNull()
    expect(await dropPublication(admin, PUB)).toBe(false)
  })

  it('streams a mixed-case table through an oddly named publication', async () => {
    await ensurePublication(admin, PUB, [deals])
    const conn = await connectReplication(server.config())
    // Slot names are restricted by PostgreSQL; say so instead of passing on its bare "syntax error".
    await expect(conn.createSlot('Odd "Slot"', { exportSnapshot: false })).rejects.toMatchObject({
      name: 'ConnectorError',
      kind: 'config',
      message: expect.stringContaining('lower-case letters, digits and underscores'),
    })
    const slot = await conn.createSlot('odd_pub_slot', { exportSnapshot: false, temporary: true })
    expect(slot.slotName).toBe('odd_pub_slot')
    stream = await conn.startReplication({
      slot: slot.slotName,
      startLsn: slot.consistentPoint,
      publications: [PUB],
      protocolVersion: 1,
      messages: false,
    })
    await admin.query(`INSERT INTO "Sales Dept".archive VALUES (1)`)
    await admin.query(`INSERT INTO "Sales Dept"."Big ""Deals""" VALUES (1, 'only this one')`)
    const [tx] = await readTransactions(iterate(stream), 1)
    expect(tx.tags).toEqual(['B', 'R', 'I', 'C'])
    expect(tx.text).toContain('Big "Deals"')
    expect(tx.text).toContain('only this one')
  })
})

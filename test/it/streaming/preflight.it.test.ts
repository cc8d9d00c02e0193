/**
 * Preflight failures surface as a Broken source with a reason that says what is wrong and how to fix it, and leave
 * no slot behind; fixing the database lets the source start on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, slotOf, slotState, waitForStatus } from '../../harness/sources.js'

describe('streaming: preflight failures', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pgServer = await startPostgres()
    await pgServer.query('CREATE TABLE items (id int PRIMARY KEY, name text)')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  async function expectBroken(id: string, reason: RegExp): Promise<void> {
    const source = await waitForStatus(api, id, 'Broken')
    expect(source.status_reason).toMatch(reason)
    expect(source.task_statuses['0']).toMatchObject({ state: 'FAILED', trace: source.status_reason })
    expect(await slotState(pgServer, slotOf(id).slot)).toBeUndefined()
  }

  it('reports a table in table.include.list that does not exist', async () => {
    const id = await createSource(api, pgSourceConfig(pgServer, { 'table.include.list': 'public.no_such_table' }))
    await expectBroken(id, /no table matches .*public\.no_such_table/)
  })

  it('reports a user without REPLICATION, and starts once the role gets it', async () => {
    await pgServer.query(`
      CREATE ROLE plain LOGIN PASSWORD 'plain-pw';
      GRANT CREATE ON DATABASE postgres TO plain;
      CREATE TABLE plain_items (id int PRIMARY KEY, name text);
      ALTER TABLE plain_items OWNER TO plain;`)
    const config = pgSourceConfig(pgServer, {
      'database.user': 'plain',
      'database.password': 'plain-pw',
      'table.include.list': 'public.plain_items',
    })
    const id = await createSource(api, config)
    await expectBroken(id, /user "plain" may not use replication.*ALTER ROLE "plain" WITH REPLICATION/)

    await pgServer.query('ALTER ROLE plain WITH REPLICATION')
    await waitForStatus(api, id, 'Active', 90_000)
    expect(await slotState(pgServer, slotOf(id).slot)).toBeDefined()
  })

  it('reports wal_level=replica', async () => {
    const replica = await startPostgres({ settings: { wal_level: 'replica' } })
    try {
      await replica.query('CREATE TABLE items (id int PRIMARY KEY)')
      const id = await createSource(api, pgSourceConfig(replica))
      const source = await waitForStatus(api, id, 'Broken')
      expect(source.status_reason).toMatch(/wal_level is 'replica' but change data capture needs 'logical'/)
      expect(source.task_statuses['0']).toMatchObject({ state: 'FAILED' })
      expect((await replica.query('SELECT count(*)::int AS n FROM pg_replication_slots')).rows[0].n).toBe(0)
      expect((await api.request('DELETE', `/sources/${id}`)).status).toBe(200)
    } finally {
      await replica.destroy()
    }
  })
})

/**
 * DESIGN.md guarantee 6: deleting a source drops the replication slot and the publication it created and removes its
 * topics — whether the source is Active, Paused or Broken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import {
  action,
  createSource,
  pgSourceConfig,
  slotOf,
  slotState,
  topicOf,
  waitForStatus,
} from '../../harness/sources.js'
import { waitForRecords } from '../../harness/topic-reader.js'

describe('streaming: deleting a source', () => {
  let pgServer: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pgServer = await startPostgres()
    await pgServer.query('CREATE TABLE notes (id int PRIMARY KEY, body text); CREATE TABLE doomed (id int PRIMARY KEY)')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pgServer?.destroy()
  })

  /** A source on `table` that has streamed one change, so it has a slot, a publication and a topic. */
  async function streamingSource(table: string, row: number): Promise<string> {
    const id = await createSource(api, pgSourceConfig(pgServer, { 'table.include.list': `public.${table}` }))
    await waitForStatus(api, id, 'Active')
    await pgServer.query(`INSERT INTO ${table} (id) VALUES (${row})`)
    await waitForRecords(api, topicOf(id, table), 0, 1)
    return id
  }

  async function expectGone(id: string, table: string): Promise<void> {
    const res = await api.request('DELETE', `/sources/${id}`)
    expect(res.status).toBe(200)
    expect(res.body.cleanup_warnings).toEqual([])
    const { slot, publication } = slotOf(id)
    expect(await slotState(pgServer, slot)).toBeUndefined()
    expect((await pgServer.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication])).rowCount).toBe(0)
    expect((await api.request('GET', `/topics/${topicOf(id, table)}`)).status).toBe(404)
    const topics = await api.request('GET', `/topics/details?partial_name=source_${id}`)
    expect(topics.body.result).toEqual([])
    expect((await api.request('GET', `/sources/${id}`)).status).toBe(404)
  }

  it('leaves nothing behind for an Active source', async () => {
    const id = await streamingSource('notes', 1)
    expect(await slotState(pgServer, slotOf(id).slot)).toMatchObject({ active: true })
    await expectGone(id, 'notes')
  })

  it('leaves nothing behind for a Paused source', async () => {
    const id = await streamingSource('notes', 2)
    await action(api, id, 'pause')
    await waitForStatus(api, id, 'Paused')
    await expectGone(id, 'notes')
  })

  it('leaves nothing behind for a Broken source', async () => {
    const id = await streamingSource('doomed', 1)
    // Its only table disappears; on the next start preflight finds nothing to capture.
    await pgServer.query('DROP TABLE doomed')
    await action(api, id, 'restart')
    const broken = await waitForStatus(api, id, 'Broken')
    expect(broken.status_reason).toMatch(/no table matches/)
    expect(await slotState(pgServer, slotOf(id).slot)).toBeDefined()
    await expectGone(id, 'doomed')
  })
})

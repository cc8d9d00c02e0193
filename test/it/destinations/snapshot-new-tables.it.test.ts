import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { createWorkloadTable } from '../../harness/workload.js'
import { createDestination, createPipeline, pgDestinationConfig, waitForEqualTables } from './delivery-helpers.js'

describe('snapshot_new_tables', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await createWorkloadTable(pg, 'accounts')
    await createWorkloadTable(pg, 'orders')
    // Rows written before the source existed: in no topic until a snapshot reads them.
    await pg.query("INSERT INTO orders SELECT g, 1, 'old' || g FROM generate_series(1, 500) g")
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('snapshots the topics an update adds to the pipeline, so their existing rows reach the destination', async () => {
    const sourceId = await createSource(api, pgSourceConfig(pg))
    await waitForStatus(api, sourceId, 'Active')
    const destinationId = await createDestination(api, pgDestinationConfig(pg, 'target'))
    const pipelineId = await createPipeline(api, sourceId, destinationId, [topicOf(sourceId, 'accounts')])
    await pg.query("INSERT INTO accounts VALUES (1, 1, 'a'), (2, 1, 'b')")
    await pg.query("INSERT INTO orders VALUES (501, 1, 'new')")
    await waitForEqualTables({ source: pg, target: pg, database: 'target', table: 'accounts' })
    const notYet = await pg.query("SELECT to_regclass('public.orders') AS t", [], 'target')
    expect(notYet.rows[0].t).toBeNull()

    const topics = [topicOf(sourceId, 'accounts'), topicOf(sourceId, 'orders')]
    const res = await api.request('PUT', `/pipelines/${pipelineId}`, {
      name: 'with-orders',
      source: { id: sourceId, topics },
      destination: { id: destinationId },
      snapshot_new_tables: true,
    })
    expect(res.status).toBe(200)
    expect(res.body.topics).toEqual(topics)
    const rows = await waitForEqualTables({ source: pg, target: pg, database: 'target', table: 'orders' })
    expect(rows).toHaveLength(501)
    const runs = (await api.request('GET', `/sources/${sourceId}/snapshots`)).body.result
    expect(runs[0]).toMatchObject({ snapshot_type: 'incremental' })
  })
})

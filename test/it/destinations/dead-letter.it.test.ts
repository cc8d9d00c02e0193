import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, tableRows } from '../../harness/workload.js'
import { createDestination, createPipeline, pgDestinationConfig, targetRows } from './delivery-helpers.js'

describe('dead-letter topic', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await createWorkloadTable(pg, 'accounts')
    // The target rejects what the source accepts: a poisoned record for the destination.
    await pg.query("CREATE TABLE public.accounts (id bigint PRIMARY KEY, version bigint, payload text CHECK (payload NOT LIKE 'poison%'))", [], 'target')
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('sends the records the target rejects to the dead-letter topic with the error in headers, and applies the rest', async () => {
    const sourceId = await createSource(api, pgSourceConfig(pg))
    await waitForStatus(api, sourceId, 'Active')
    const destinationId = await createDestination(api, pgDestinationConfig(pg, 'target'))
    await createPipeline(api, sourceId, destinationId)
    await pg.query(
      "INSERT INTO accounts SELECT g, 1, CASE WHEN g IN (77, 150) THEN 'poison-' || g ELSE 'ok' || g END FROM generate_series(1, 300) g",
    )
    await pg.query("UPDATE accounts SET version = 2, payload = 'fine' WHERE id BETWEEN 1 AND 10")

    const expected = (await tableRows(pg, 'accounts')).filter((r) => r.id !== 77 && r.id !== 150)
    await waitFor(
      async () => JSON.stringify(await targetRows(pg, 'target', 'accounts')),
      (rows) => rows === JSON.stringify(expected),
      { timeoutMs: 60_000, message: 'every record but the poisoned ones applied' },
    )

    const dlq = `destination_${destinationId}.streamkap.deadletterqueue`
    const records = await waitFor(() => t.sluice.log.read(dlq, 0, 0), (r) => r.length >= 2, { timeoutMs: 30_000, message: 'dead letters' })
    expect(records).toHaveLength(2)
    const values = records.map((r) => JSON.parse(r.value!.toString()))
    expect(values.map((v) => v.after.id)).toEqual([77, 150])
    expect(records.map((r) => JSON.parse(r.key!.toString()).id)).toEqual([77, 150])
    for (const r of records) {
      expect(r.headers['__connect.errors.topic']).toBe(topicOf(sourceId, 'accounts'))
      expect(Number(r.headers['__connect.errors.offset'])).toBeGreaterThanOrEqual(0)
      expect(r.headers['__connect.errors.exception.message']).toMatch(/check constraint/)
      expect(r.headers['__connect.errors.exception.class.name']).toBe('RecordError')
    }
    const destination = (await api.request('GET', `/destinations/${destinationId}`)).body.result[0]
    expect(destination.dead_letter_topic).toBe(dlq)
    expect(destination.connector_status).toBe('Active')
    const metrics = (await api.request('GET', `/destinations/${destinationId}/metrics`)).body
    expect(metrics.data).toMatchObject({ deadLetterRecordTotal: 2, recordsLag: 0, pipelines: 1, connector_status: 'Active' })
    expect(metrics.data.sinkRecordWriteTotal).toBeGreaterThanOrEqual(308)
    expect(metrics.metadata.deadLetterRecordTotal).toEqual({ name: 'Records Dead-Lettered', unit: 'count' })
  })
})

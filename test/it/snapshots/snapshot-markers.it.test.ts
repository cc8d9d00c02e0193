/**
 * Debezium's `source.snapshot` markers when a table's last CTID chunks hold no visible row (deleted, not yet
 * vacuumed away): the table's real last row must still carry the final marker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, type ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'

describe('snapshot markers with an empty tail', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    // fillfactor 10: ~5 rows per page, so 8,000 rows span over 1,024 blocks (more than one 1,024-block chunk).
    await pg.query('CREATE TABLE hollow (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 10, autovacuum_enabled = false)')
    await pg.query("INSERT INTO hollow SELECT g, repeat('x', 100) FROM generate_series(1, 8000) g")
    await pg.query("DELETE FROM hollow WHERE ctid >= '(1024,0)'::tid")
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('marks the last row read `last` although the chunks after it are empty', async () => {
    const { rows: [shape] } = await pg.query("SELECT pg_relation_size('hollow') / 8192 AS blocks, count(*)::int AS live FROM hollow")
    expect(Number(shape.blocks)).toBeGreaterThan(1024)
    expect(shape.live).toBeGreaterThan(0)
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.hollow' }))
    await waitForStatus(api, id, 'Active')
    expect((await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking' })).status).toBe(200)
    const run = await waitFor(async () => (await api.request('GET', `/sources/${id}/snapshots`)).body.result[0], (r) => r?.status === 'completed' || r?.status === 'failed', { timeoutMs: 60_000, message: 'blocking snapshot finished' })
    expect(run.status).toBe('completed')
    expect(run.tables[0].rows_read).toBe(shape.live)
    const reads = changeEvents(await readTopic(api, topicOf(id, 'hollow'))).filter((e) => e.op === 'r')
    expect(reads).toHaveLength(shape.live)
    expect(reads[0].source.snapshot).toBe('first')
    expect(reads.at(-1).source.snapshot).toBe('last')
    expect(reads.filter((e) => e.source.snapshot === 'last')).toHaveLength(1)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiClient, adminClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload } from '../../harness/workload.js'
import { createDestination, createPipeline, pgDestinationConfig, waitForEqualTables } from './delivery-helpers.js'

describe('pipeline to a PostgreSQL destination', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    await pg.createDatabase('target')
    await createWorkloadTable(pg, 'accounts')
    await pg.query("INSERT INTO accounts SELECT g, 1, 'seed' || g FROM generate_series(1, 5000) g")
    await pg.query('CREATE TABLE events (at bigint NOT NULL, kind text)')
    await pg.query("INSERT INTO events SELECT g, 'k' || g FROM generate_series(1, 298) g")
    // int64 values a JS number cannot hold: they must arrive digit for digit.
    await pg.query("INSERT INTO events VALUES (9007199254740993, 'big'), (-9223372036854775808, 'min')")
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('applies a snapshot and streamed inserts, updates and deletes: the target equals the source row for row', async () => {
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 5 })
    const sourceId = await createSource(api, pgSourceConfig(pg, { 'snapshot.mode': 'initial' }))
    const destinationId = await createDestination(api, pgDestinationConfig(pg, 'target'))
    const pipelineId = await createPipeline(api, sourceId, destinationId)
    await waitForStatus(api, sourceId, 'Active')
    await waitFor(
      async () => (await api.request('GET', `/sources/${sourceId}/snapshots`)).body.result,
      (runs: any[]) => runs.length > 0 && runs[0].status === 'completed',
      { timeoutMs: 120_000, message: 'initial snapshot completed' },
    )
    // Let the workload run while streaming too, then compare.
    const committedAtSnapshot = workload.committedTransactions
    await waitFor(() => workload.committedTransactions, (n) => n >= committedAtSnapshot + 100, { timeoutMs: 60_000, message: 'streamed writes' })
    await workload.stop()
    expect(workload.changes.some((c) => c.op === 'd')).toBe(true)
    expect(workload.changes.some((c) => c.op === 'u')).toBe(true)

    const rows = await waitForEqualTables({ source: pg, target: pg, database: 'target', table: 'accounts' })
    expect(rows.length).toBeGreaterThan(4000)

    // The keyless table is appended with each change's position, once per change.
    const events = await waitFor(
      async () => (await pg.query('SELECT count(*)::int AS n, count(DISTINCT at)::int AS d FROM public.events', [], 'target').catch(() => ({ rows: [{ n: 0, d: 0 }] }))).rows[0],
      (r) => r.n === 300,
      { timeoutMs: 60_000, message: 'keyless table appended' },
    )
    expect(events.d).toBe(300)
    const exact = await pg.query("SELECT kind, at::text AS at FROM public.events WHERE kind IN ('big', 'min') ORDER BY kind", [], 'target')
    expect(exact.rows).toEqual([{ kind: 'big', at: '9007199254740993' }, { kind: 'min', at: '-9223372036854775808' }])

    const destination = (await api.request('GET', `/destinations/${destinationId}`)).body.result[0]
    expect(destination).toMatchObject({ connector_status: 'Active', desired_state: 'Active' })
    expect(destination.topics).toEqual(expect.arrayContaining([topicOf(sourceId, 'accounts'), topicOf(sourceId, 'events')]))
    const metrics = await waitFor(
      async () => (await api.request('GET', `/pipelines/${pipelineId}/metrics`)).body,
      (m: any) => m.data.recordsLag === 0,
      { timeoutMs: 30_000, message: 'pipeline caught up' },
    )
    expect(metrics.data.status).toBe('Active')
    expect(metrics.data.latency).toEqual(expect.any(Number))
    expect(metrics.metadata.latency).toEqual({ name: 'Pipeline Latency', unit: 'milliseconds' })
  })

  it('keeps delivering while streaming, is paused and resumed by the destination actions, and stops when the pipeline is deleted', async () => {
    const pipelines = (await api.request('GET', '/pipelines')).body.result
    const pipeline = pipelines[0]
    const destinationId = pipeline.destination.id

    expect((await api.request('POST', `/destinations/${destinationId}/actions/pause`)).body.desired_state).toBe('Paused')
    await pg.query("INSERT INTO accounts VALUES (900001, 1, 'while-paused')")
    const lagged = await waitFor(
      async () => (await api.request('GET', `/pipelines/${pipeline.id}/metrics`)).body.data,
      (d: any) => d.recordsLag >= 1 && d.status === 'Paused',
      { timeoutMs: 30_000, message: 'lag while paused' },
    )
    expect(lagged.status).toBe('Paused')
    expect((await pg.query('SELECT 1 FROM public.accounts WHERE id = 900001', [], 'target')).rowCount).toBe(0)

    await api.request('POST', `/destinations/${destinationId}/actions/resume`)
    await waitForEqualTables({ source: pg, target: pg, database: 'target', table: 'accounts' })

    const groups = await t.sluice.log.listGroups()
    expect(groups).toContain(`pipeline_${pipeline.id}`)
    expect((await api.request('DELETE', `/pipelines/${pipeline.id}`)).status).toBe(200)
    expect(await t.sluice.log.listGroups()).not.toContain(`pipeline_${pipeline.id}`)
    expect((await api.request('GET', `/pipelines/${pipeline.id}`)).status).toBe(404)

    // The source keeps streaming; the target no longer changes.
    await pg.query("INSERT INTO accounts VALUES (900002, 1, 'after-delete')")
    await waitFor(
      async () => changeEvents(await readTopic(api, topicOf(pipeline.source.id, 'accounts'))),
      (events) => events.some((e) => e.after?.id === 900002),
      { timeoutMs: 60_000, message: 'the source streamed the insert' },
    )
    const sourceStatus = (await api.request('GET', `/sources/${pipeline.source.id}`)).body.result[0].connector_status
    expect(sourceStatus).toBe('Active')
    expect((await pg.query('SELECT 1 FROM public.accounts WHERE id = 900002', [], 'target')).rowCount).toBe(0)
    expect((await api.request('DELETE', `/destinations/${destinationId}`)).status).toBe(200)
  })
})

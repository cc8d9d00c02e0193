/**
 * Incremental snapshot control while writes go on: pause stops chunk reads (progress stays put) while streaming
 * keeps delivering; resume completes the run. Stop cancels with the progress kept, and executing the same snapshot
 * again continues from the last chunk instead of from the first row. Each ends with rebuild-and-compare.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, type ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, latestOffset, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, tableRows } from '../../harness/workload.js'

const ROWS = 40_000
const CHUNK = 250

async function latestRun(api: ApiClient, id: string): Promise<any> {
  return (await api.request('GET', `/sources/${id}/snapshots`)).body.result[0]
}

async function expectRebuildEquals(api: ApiClient, pg: TestPostgres, id: string, table: string): Promise<void> {
  const expected = await tableRows(pg, table)
  const rebuilt = await waitFor(async () => rebuildTable(await readTopic(api, topicOf(id, table))), (rows) => JSON.stringify(rows) === JSON.stringify(expected), { timeoutMs: 90_000, message: `rebuilt ${table} equals source` })
  expect(rebuilt).toEqual(expected)
}

/** Inserts a marker row and waits for its event: proof that streaming delivers right now. */
async function streamMarker(api: ApiClient, pg: TestPostgres, id: string, table: string, marker: number): Promise<void> {
  const topic = topicOf(id, table)
  const from = await latestOffset(api, topic)
  await pg.query(`INSERT INTO ${table} (id, version, payload) VALUES ($1, 1, $2)`, [marker, `marker-${marker}`])
  await waitFor(async () => changeEvents(await readTopic(api, topic, from)), (events) => events.some((e) => e.after?.payload === `marker-${marker}`), { timeoutMs: 30_000, message: `marker ${marker} streamed` })
}

/**
 * After a pause or stop, the chunk in flight may still record its progress. Streamed round trips go by until
 * rows_read holds still across one; returns the settled run.
 */
async function settledRun(api: ApiClient, pg: TestPostgres, id: string, table: string, firstMarker: number): Promise<any> {
  let before = -1
  let run = await latestRun(api, id)
  for (let round = 0; round < 5 && before !== run.rows_read; round++) {
    before = run.rows_read
    await streamMarker(api, pg, id, table, firstMarker + round)
    run = await latestRun(api, id)
  }
  expect(run.rows_read).toBe(before)
  return run
}

describe('incremental snapshot pause, resume, stop and resume-by-execute', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    for (const table of ['paused_tbl', 'stopped_tbl']) {
      await createWorkloadTable(pg, table)
      await pg.query(`INSERT INTO ${table} SELECT g, 1, 'seed' || g FROM generate_series(1, ${ROWS}) g`)
    }
    t = await startTestSluice()
    api = adminClient(t)
  })
  afterAll(async () => {
    await t?.stop()
    await pg?.destroy()
  })

  it('pause: no chunk progresses while streaming goes on; resume: the run completes; the rebuilt table equals the source', async () => {
    const table = 'paused_tbl'
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': `public.${table}`, 'incremental.snapshot.chunk.size': CHUNK }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table, workers: 2, maxOpsPerTransaction: 4, seed: 7 })
    expect((await api.request('POST', '/sources/snapshot', { source_id: id })).status).toBe(200)
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.rows_read > 0, { timeoutMs: 60_000, message: 'incremental snapshot progressing' })
    const paused = await api.request('POST', '/sources/pause_incremental_snapshot', { source_id: id })
    expect(paused.status).toBe(200)
    expect(paused.body.paused).toBe(true)

    const frozen = await settledRun(api, pg, id, table, 10_000_000)
    let marker = 10_000_100
    expect(frozen).toMatchObject({ status: 'running', paused: true })
    expect(frozen.rows_read).toBeLessThan(ROWS)
    // Streaming still delivers (workload changes and markers) while no chunk is read.
    const committedBefore = workload.committedTransactions
    for (let i = 0; i < 3; i++) await streamMarker(api, pg, id, table, marker++)
    expect(workload.committedTransactions).toBeGreaterThan(committedBefore)
    expect((await latestRun(api, id)).rows_read).toBe(frozen.rows_read)
    expect((await api.request('POST', '/sources/resume_incremental_snapshot', { source_id: id })).status).toBe(200)
    expect((await api.request('POST', '/sources/resume_incremental_snapshot', { source_id: id })).status).toBe(409)

    const done = await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'resumed snapshot completed' })
    expect(done.paused).toBe(false)
    expect(done.tables[0].rows_read).toBeGreaterThan(frozen.rows_read)
    await workload.stop()
    await expectRebuildEquals(api, pg, id, table)
  })

  it('stop keeps progress; executing the same snapshot again resumes from the last chunk; the rebuilt table equals the source', async () => {
    const table = 'stopped_tbl'
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': `public.${table}`, 'incremental.snapshot.chunk.size': CHUNK }))
    await waitForStatus(api, id, 'Active')
    const topic = topicOf(id, table)
    const workload = startWorkload(pg, { table, workers: 2, maxOpsPerTransaction: 4, seed: 11 })
    expect((await api.request('POST', '/sources/snapshot', { source_id: id, topic_names: [topic] })).status).toBe(200)
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.rows_read >= 5 * CHUNK, { timeoutMs: 60_000, message: 'a few chunks read' })
    const stop = await api.request('POST', '/sources/stop_incremental_snapshot', { source_id: id })
    expect(stop.status).toBe(200)
    expect(stop.body.status).toBe('cancelled')
    expect(stop.body.tables[0].status).toBe('cancelled')
    const again = await api.request('POST', '/sources/stop_incremental_snapshot', { source_id: id })
    expect(again.status).toBe(409)
    const stopped = await settledRun(api, pg, id, table, 20_000_000)
    expect(stopped.status).toBe('cancelled')
    const kept = stopped.tables[0].rows_read
    expect(kept).toBeGreaterThanOrEqual(5 * CHUNK)
    expect(kept).toBeLessThan(ROWS)
    const readsBefore = changeEvents(await readTopic(api, topic)).filter((e) => e.op === 'r').length

    const resumed = await api.request('POST', '/sources/snapshot', { source_id: id, topic_names: [topic] })
    expect(resumed.status).toBe(200)
    expect(resumed.body.id).not.toBe(stopped.id)
    // The new run starts where the stopped one ended, not from zero.
    expect(resumed.body.tables[0].rows_read).toBe(kept)
    const done = await waitFor(() => latestRun(api, id), (r) => r.id === resumed.body.id && r.status === 'completed', { timeoutMs: 120_000, message: 'resumed snapshot completed' })
    expect(done.tables[0].rows_read).toBeGreaterThan(kept)
    await workload.stop()

    // Rows of the chunks read before the stop were not read again: the second run read at most the rest.
    const reads = changeEvents(await readTopic(api, topic)).filter((e) => e.op === 'r')
    const rowsNow = (await pg.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n
    // Rows the snapshot read and the workload then deleted are in the topic but no longer in the table.
    const deletes = workload.changes.filter((c) => c.op === 'd').length
    expect(reads.length - readsBefore).toBeLessThanOrEqual(rowsNow - kept + CHUNK + deletes)
    const firstIds = new Set(reads.slice(0, readsBefore).map((e) => e.after.id))
    expect(reads.slice(readsBefore).filter((e) => firstIds.has(e.after.id))).toEqual([])
    await expectRebuildEquals(api, pg, id, table)
    const history = (await api.request('GET', `/sources/${id}/snapshots`)).body.result
    expect(history.map((r: any) => r.status)).toEqual(['completed', 'cancelled'])
  })
})

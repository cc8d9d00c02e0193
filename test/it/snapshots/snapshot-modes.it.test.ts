/**
 * `snapshot.mode` strategies beyond the default: `initial_only` snapshots and never streams; `always` snapshots
 * again on every start; `when_needed` snapshots again when the slot was dropped behind Sluice's back, where the
 * default `initial` refuses with a Broken status and a reason instead of silently skipping the lost changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, type ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type TestSluice, startTestSluice } from '../../harness/sluice.js'
import { action, createSource, getSource, pgSourceConfig, slotOf, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, tableRows } from '../../harness/workload.js'

const ROWS = 3000

async function history(api: ApiClient, id: string): Promise<any[]> {
  return (await api.request('GET', `/sources/${id}/snapshots`)).body.result
}

function waitForRuns(api: ApiClient, id: string, count: number): Promise<any[]> {
  return waitFor(() => history(api, id), (runs) => runs.length === count && runs[0].status === 'completed', { timeoutMs: 90_000, message: `${count} completed snapshot run(s) of ${id}` })
}

async function waitForPayload(api: ApiClient, topic: string, payload: string): Promise<void> {
  await waitFor(async () => changeEvents(await readTopic(api, topic)), (events) => events.some((e) => e.after?.payload === payload), { timeoutMs: 60_000, message: `${payload} in ${topic}` })
}

async function expectRebuildEquals(api: ApiClient, pg: TestPostgres, id: string, table: string): Promise<void> {
  const expected = await tableRows(pg, table)
  const rebuilt = await waitFor(async () => rebuildTable(await readTopic(api, topicOf(id, table))), (rows) => JSON.stringify(rows) === JSON.stringify(expected), { timeoutMs: 60_000, message: `rebuilt ${table} equals source` })
  expect(rebuilt).toEqual(expected)
}

/** Drops the source's slot while it is paused (retrying while the walsender that held it exits). */
async function dropSlotBehindSluice(api: ApiClient, pg: TestPostgres, id: string): Promise<void> {
  await action(api, id, 'pause')
  await waitForStatus(api, id, 'Paused')
  const { slot } = slotOf(id)
  await waitFor(async () => {
    try {
      await pg.query('SELECT pg_drop_replication_slot($1)', [slot])
      return true
    } catch {
      return false
    }
  }, (dropped) => dropped, { timeoutMs: 30_000, message: `slot ${slot} dropped` })
}

describe('snapshot.mode', () => {
  let pg: TestPostgres
  let t: TestSluice
  let api: ApiClient

  beforeAll(async () => {
    pg = await startPostgres()
    for (const table of ['only_tbl', 'always_tbl', 'needed_tbl', 'initial_tbl']) {
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

  it('initial_only: snapshots the tables, then streams nothing', async () => {
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.only_tbl', 'snapshot.mode': 'initial_only' }))
    // A streaming-only source on the same table shows when a later change has been delivered.
    const control = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.only_tbl' }))
    await waitForStatus(api, control, 'Active')
    const [run] = await waitForRuns(api, id, 1)
    expect(run).toMatchObject({ snapshot_type: 'initial', rows_read: ROWS })
    const topic = topicOf(id, 'only_tbl')
    await waitFor(() => readTopic(api, topic), (r) => r.length === ROWS, { message: 'snapshot records' })

    await pg.query("INSERT INTO only_tbl VALUES (100001, 1, 'after-snapshot')")
    await pg.query("UPDATE only_tbl SET version = 2, payload = 'updated-after' WHERE id = 1")
    await waitForPayload(api, topicOf(control, 'only_tbl'), 'updated-after')
    const events = changeEvents(await readTopic(api, topic))
    expect(events).toHaveLength(ROWS)
    expect(events.every((e) => e.op === 'r')).toBe(true)
    expect((await getSource(api, id)).connector_status).toBe('Active')
    expect((await history(api, id))).toHaveLength(1)
  })

  it('always: snapshots again when the source restarts, and streams in between', async () => {
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.always_tbl', 'snapshot.mode': 'always' }))
    await waitForRuns(api, id, 1)
    await waitForStatus(api, id, 'Active')
    const topic = topicOf(id, 'always_tbl')
    await pg.query("UPDATE always_tbl SET version = 2, payload = 'between' WHERE id = 7")
    await waitForPayload(api, topic, 'between')

    await action(api, id, 'restart')
    const runs = await waitForRuns(api, id, 2)
    expect(runs.map((r) => [r.snapshot_type, r.status, r.rows_read])).toEqual([['initial', 'completed', ROWS], ['initial', 'completed', ROWS]])
    await waitForStatus(api, id, 'Active')
    await pg.query("INSERT INTO always_tbl VALUES (100001, 1, 'after-restart')")
    await waitForPayload(api, topic, 'after-restart')
    const reads = changeEvents(await readTopic(api, topic)).filter((e) => e.op === 'r')
    expect(reads).toHaveLength(2 * ROWS)
    // The second snapshot read the table as it is now.
    expect(reads.slice(ROWS).find((e) => e.after.id === 7).after).toMatchObject({ version: 2, payload: 'between' })
    await expectRebuildEquals(api, pg, id, 'always_tbl')
  })

  it('when_needed: snapshots again after the slot was dropped behind Sluice\'s back; nothing is lost', async () => {
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.needed_tbl', 'snapshot.mode': 'when_needed' }))
    await waitForRuns(api, id, 1)
    await waitForStatus(api, id, 'Active')
    await dropSlotBehindSluice(api, pg, id)
    // Changes made while no slot exists are in no WAL Sluice can read: only a new snapshot brings them.
    await pg.query("UPDATE needed_tbl SET version = 2, payload = 'while-dropped' WHERE id <= 10")
    await pg.query('DELETE FROM needed_tbl WHERE id BETWEEN 11 AND 20')
    await pg.query("INSERT INTO needed_tbl VALUES (100001, 1, 'inserted-while-dropped')")
    await action(api, id, 'resume')
    const runs = await waitForRuns(api, id, 2)
    expect(runs[0]).toMatchObject({ snapshot_type: 'initial', rows_read: ROWS - 10 + 1 })
    await waitForStatus(api, id, 'Active')
    await pg.query("INSERT INTO needed_tbl VALUES (100002, 1, 'after-resume')")
    await waitForPayload(api, topicOf(id, 'needed_tbl'), 'after-resume')
    const slot = (await pg.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slotOf(id).slot])).rows
    expect(slot).toHaveLength(1)
    // Deletes made while no slot existed never reach the topic (no WAL holds them for Sluice), so the table is
    // rebuilt from the second snapshot on: that snapshot and the stream after it must equal the source.
    const records = await readTopic(api, topicOf(id, 'needed_tbl'))
    const secondRun = records.findIndex((r, i) => i > 0 && r.value?.source?.snapshot === 'first')
    expect(secondRun).toBeGreaterThan(0)
    expect(rebuildTable(records.slice(secondRun))).toEqual(await tableRows(pg, 'needed_tbl'))
  })

  it('initial (default): a dropped slot gives Broken with a clear reason instead of skipping changes', async () => {
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.initial_tbl', 'snapshot.mode': 'initial' }))
    await waitForRuns(api, id, 1)
    await waitForStatus(api, id, 'Active')
    await dropSlotBehindSluice(api, pg, id)
    await action(api, id, 'resume')
    const broken = await waitForStatus(api, id, 'Broken')
    expect(broken.status_reason).toMatch(/replication slot \S+ no longer exists/)
    expect(broken.status_reason).toMatch(/when_needed/)
    expect(broken.task_statuses['0']).toMatchObject({ state: 'FAILED', trace: broken.status_reason })
    // It did not quietly make a new slot and carry on.
    expect((await pg.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slotOf(id).slot])).rows).toEqual([])
    expect(await history(api, id)).toHaveLength(1)
  })
})

/**
 * `kill -9` of Sluice in the middle of each kind of snapshot (initial, blocking, incremental) while a write workload
 * runs, then a restart on the same data directory. The run must resume from its last durable chunk — not from the
 * first row — and complete, and each table rebuilt from its topic must equal the source row for row.
 *
 * Tables are created with `fillfactor = 10`: a 1024-block CTID chunk then holds only ~5,000 rows, so a snapshot spans
 * ten chunks (and the kill lands between them) while the topic stays small enough to read back.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiClient } from '../../harness/api-client.js'
import { type TestPostgres, startPostgres } from '../../harness/postgres.js'
import { type SluiceProcess, startSluiceProcess } from '../../harness/sluice-process.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { type Workload, missingChanges, startWorkload, tableRows } from '../../harness/workload.js'

const ROWS = 50_000
const INCREMENTAL_ROWS = 30_000
const INCREMENTAL_CHUNK = 500

async function latestRun(api: ApiClient, id: string): Promise<any> {
  return (await api.request('GET', `/sources/${id}/snapshots`)).body.result[0]
}

async function createSparseTable(pg: TestPostgres, table: string, rows: number): Promise<number> {
  await pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL, payload text NOT NULL) WITH (fillfactor = 10)`)
  await pg.query(`INSERT INTO ${table} SELECT g, 1, 'seed-' || g || repeat('.', 100) FROM generate_series(1, ${rows}) g`)
  await pg.query(`VACUUM ANALYZE ${table}`)
  const { rows: [size] } = await pg.query(`SELECT pg_relation_size('${table}') / 8192 AS blocks`)
  return Number(size.blocks)
}

/** Keys the snapshot read more than once (op `r` events per key > 1). */
function rereadKeys(records: Awaited<ReturnType<typeof readTopic>>): number {
  const counts = new Map<number, number>()
  for (const e of changeEvents(records)) if (e.op === 'r') counts.set(e.after.id, (counts.get(e.after.id) ?? 0) + 1)
  return [...counts.values()].filter((n) => n > 1).length
}

describe('kill -9 during snapshots', () => {
  let pg: TestPostgres
  let dataDir: string
  let proc: SluiceProcess
  /** Rows in one 1024-block chunk of the sparse tables. */
  let rowsPerChunk: number

  beforeAll(async () => {
    pg = await startPostgres()
    const blocks = await createSparseTable(pg, 'crash_initial', ROWS)
    rowsPerChunk = Math.floor((ROWS * 1024) / blocks)
    await createSparseTable(pg, 'crash_blocking', ROWS)
    await createSparseTable(pg, 'crash_incremental', INCREMENTAL_ROWS)
    expect(blocks).toBeGreaterThanOrEqual(8 * 1024)
    dataDir = await mkdtemp(join(tmpdir(), 'sluice-crash-'))
    proc = await startSluiceProcess(dataDir)
  })
  afterAll(async () => {
    await proc?.stop()
    await pg?.destroy()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  /** Crashes Sluice once the run has durable progress of at least `minRows`; restarts it; returns rows read then. */
  async function crashMidSnapshot(id: string, minRows: number, total: number): Promise<number> {
    const before = await waitFor(() => latestRun(proc.api, id), (r) => r?.status === 'completed' || (r?.status === 'running' && r.rows_read >= minRows), { timeoutMs: 120_000, intervalMs: 50, message: `snapshot of ${id} progressing` })
    expect(before.status, 'the kill must land mid-snapshot').toBe('running')
    expect(before.rows_read).toBeLessThan(total)
    await proc.crash()
    proc = await startSluiceProcess(dataDir)
    return before.rows_read
  }

  async function expectRebuildEquals(id: string, table: string, workload: Workload, streamedFromStart: boolean): Promise<Awaited<ReturnType<typeof readTopic>>> {
    const expected = await tableRows(pg, table)
    const records = await waitFor(() => readTopic(proc.api, topicOf(id, table)), (r) => JSON.stringify(rebuildTable(r)) === JSON.stringify(expected), { timeoutMs: 120_000, intervalMs: 500, message: `rebuilt ${table} equals source` })
    expect(rebuildTable(records)).toEqual(expected)
    // The source was streaming before the workload began: every committed change has its own event, too.
    if (streamedFromStart) expect(missingChanges(workload.changes, records)).toEqual([])
    return records
  }

  it('initial snapshot: resumes at its next chunk after kill -9, then streams; the rebuilt table equals the source', async () => {
    const workload = startWorkload(pg, { table: 'crash_initial', workers: 2, maxOpsPerTransaction: 3, seed: 21 })
    const id = await createSource(proc.api, pgSourceConfig(pg, { 'table.include.list': 'public.crash_initial', 'snapshot.mode': 'initial' }))
    const atKill = await crashMidSnapshot(id, 2 * rowsPerChunk, ROWS)
    const run = await waitFor(() => latestRun(proc.api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'resumed initial snapshot completed' })
    expect(run.snapshot_type).toBe('initial')
    expect((await proc.api.request('GET', `/sources/${id}/snapshots`)).body.result).toHaveLength(1)
    await waitForStatus(proc.api, id, 'Active')
    await workload.stop()
    const records = await expectRebuildEquals(id, 'crash_initial', workload, false)
    // Starting over would read again every row read before the kill; resuming re-reads at most the chunk in flight.
    expect(rereadKeys(records)).toBeLessThan(atKill)
    expect(changeEvents(records).filter((e) => e.op === 'r').length).toBeLessThan(ROWS + atKill)
  })

  it('blocking snapshot: resumes after kill -9 with streaming paused and resumed around it; nothing lost', async () => {
    const id = await createSource(proc.api, pgSourceConfig(pg, { 'table.include.list': 'public.crash_blocking' }))
    await waitForStatus(proc.api, id, 'Active')
    const workload = startWorkload(pg, { table: 'crash_blocking', workers: 2, maxOpsPerTransaction: 3, seed: 22 })
    const res = await proc.api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking' })
    expect(res.status).toBe(200)
    const atKill = await crashMidSnapshot(id, 2 * rowsPerChunk, ROWS)
    const run = await waitFor(() => latestRun(proc.api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'resumed blocking snapshot completed' })
    expect(run.id).toBe(res.body.id)
    await workload.stop()
    const records = await expectRebuildEquals(id, 'crash_blocking', workload, true)
    expect(rereadKeys(records)).toBeLessThan(atKill)
    expect(changeEvents(records).filter((e) => e.op === 'r').length).toBeLessThan(ROWS + atKill)
  })

  it('incremental snapshot: resumes from the last chunk after kill -9; nothing lost', async () => {
    const id = await createSource(proc.api, pgSourceConfig(pg, { 'table.include.list': 'public.crash_incremental', 'incremental.snapshot.chunk.size': INCREMENTAL_CHUNK }))
    await waitForStatus(proc.api, id, 'Active')
    const workload = startWorkload(pg, { table: 'crash_incremental', workers: 2, maxOpsPerTransaction: 3, seed: 23 })
    const res = await proc.api.request('POST', '/sources/snapshot', { source_id: id })
    expect(res.status).toBe(200)
    const atKill = await crashMidSnapshot(id, 6 * INCREMENTAL_CHUNK, INCREMENTAL_ROWS)
    const run = await waitFor(() => latestRun(proc.api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'resumed incremental snapshot completed' })
    expect(run.id).toBe(res.body.id)
    expect(run.tables[0].rows_read).toBeGreaterThan(atKill)
    await workload.stop()
    const records = await expectRebuildEquals(id, 'crash_incremental', workload, true)
    // At most the chunk in flight at the kill is read twice.
    expect(rereadKeys(records)).toBeLessThanOrEqual(INCREMENTAL_CHUNK)
  })
})

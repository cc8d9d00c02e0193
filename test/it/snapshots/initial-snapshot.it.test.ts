import { describe, expect, it } from 'vitest'
import { useSourceEnvironment } from '../../harness/source-environment.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, tableRows } from '../../harness/workload.js'

describe('initial snapshot', () => {
  const env = useSourceEnvironment(async (pg) => {
    await createWorkloadTable(pg, 'accounts')
    await pg.query("INSERT INTO accounts SELECT g, 1, repeat('x', 100) || g FROM generate_series(1, 20000) g")
    await pg.query('CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), kind text)')
    await pg.query("INSERT INTO events (kind) SELECT 'k' || g FROM generate_series(1, 3000) g")
  })

  it('reads every table consistently while writes go on, then streams from the slot point: the rebuilt table equals the source', async () => {
    const { pg, api } = env
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 5 })
    const id = await createSource(api, pgSourceConfig(pg, { 'snapshot.mode': 'initial' }))
    await waitForStatus(api, id, 'Active')
    const history = await waitFor(
      async () => (await api.request('GET', `/sources/${id}/snapshots`)).body.result,
      (runs: any[]) => runs.length > 0 && runs[0].status === 'completed',
      { timeoutMs: 120_000, message: 'initial snapshot completed' },
    )
    expect(history[0]).toMatchObject({ snapshot_type: 'initial', status: 'completed', total_table_count: 2, remaining_table_count: 0 })
    expect(history[0].tables.find((tb: any) => tb.table === 'events').rows_read).toBe(3000)
    await workload.stop()

    const topic = topicOf(id, 'accounts')
    const expected = await tableRows(pg, 'accounts')
    const rebuilt = await waitFor(async () => rebuildTable(await readTopic(api, topic)), (rows) => rows.length === expected.length && JSON.stringify(rows) === JSON.stringify(expected), { timeoutMs: 120_000, message: 'rebuilt accounts equals source' })
    expect(rebuilt).toEqual(expected)

    const events = changeEvents(await readTopic(api, topic))
    const reads = events.filter((e) => e.op === 'r')
    expect(reads.length).toBeGreaterThanOrEqual(20000 - 200)
    expect(reads[0].source.snapshot).toBe('first')
    expect(reads.every((e) => e.source.lsn === reads[0].source.lsn)).toBe(true)
    // Streaming started at the slot's consistent point: the changes made during the snapshot arrive after the reads.
    // (A transaction that began before that point and committed after it carries earlier change LSNs, so the rebuild
    // above, not LSN order, is what proves nothing was missed or doubled.)
    const streamed = events.filter((e) => e.op !== 'r')
    expect(streamed.length).toBeGreaterThan(0)
    expect(events.findIndex((e) => e.op !== 'r')).toBeGreaterThan(events.findIndex((e) => e.op === 'r'))

    const keyless = changeEvents(await readTopic(api, topicOf(id, 'events')))
    expect(keyless.filter((e) => e.op === 'r')).toHaveLength(3000)
    expect(keyless.at(-1).source.snapshot).toBe('last')
  })
})

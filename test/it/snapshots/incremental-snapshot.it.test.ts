import { describe, expect, it } from 'vitest'
import { latestRun, useSourceEnvironment } from '../../harness/source-environment.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, tableRows } from '../../harness/workload.js'

describe('incremental snapshots', () => {
  const env = useSourceEnvironment(async (pg) => {
    await createWorkloadTable(pg, 'accounts')
    await pg.query("INSERT INTO accounts SELECT g, 1, 'seed' || g FROM generate_series(1, 20000) g")
    await pg.query('CREATE TABLE lines (order_id int, line int, sku text NOT NULL, PRIMARY KEY (order_id, line))')
    await pg.query("INSERT INTO lines SELECT o, l, 'sku-' || o || '-' || l FROM generate_series(1, 1500) o, generate_series(1, 4) l")
  })

  it('reads chunks between watermarks while writes go on; streaming never pauses; the rebuilt table equals the source', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts', 'incremental.snapshot.chunk.size': 500 }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 4 })
    const res = await api.request('POST', '/sources/snapshot', { source_id: id, topic_names: [topicOf(id, 'accounts')] })
    expect(res.status).toBe(200)
    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'incremental snapshot completed' })
    expect(run.snapshot_type).toBe('incremental')
    await workload.stop()
    const expected = await tableRows(pg, 'accounts')
    const rebuilt = await waitFor(async () => rebuildTable(await readTopic(api, topicOf(id, 'accounts'))), (rows) => JSON.stringify(rows) === JSON.stringify(expected), { timeoutMs: 90_000, message: 'rebuilt equals source' })
    expect(rebuilt).toEqual(expected)
    const reads = changeEvents(await readTopic(api, topicOf(id, 'accounts'))).filter((e) => e.op === 'r')
    expect(reads.every((e) => e.source.snapshot === 'incremental')).toBe(true)
  })

  it('supports composite keys and filters, and refuses unsafe filters without running them', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.lines', 'incremental.snapshot.chunk.size': 256 }))
    await waitForStatus(api, id, 'Active')
    const unsafe = await api.request('POST', '/sources/snapshot', { source_id: id, additional_conditions: [{ data_collection: 'public.lines', filter: 'order_id > 0; DROP TABLE lines' }] })
    expect(unsafe.status).toBe(422)
    expect(unsafe.body.detail[0].loc).toEqual(['body', 'additional_conditions', 0, 'filter'])
    const sub = await api.request('POST', '/sources/snapshot', { source_id: id, additional_conditions: [{ data_collection: 'public.lines', filter: 'order_id IN (SELECT 1)' }] })
    expect(sub.status).toBe(422)
    const res = await api.request('POST', '/sources/snapshot', { source_id: id, additional_conditions: [{ data_collection: 'public.lines', filter: 'order_id <= 1000 AND line <> 2' }] })
    expect(res.status).toBe(200)
    await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'completed' })
    const reads = changeEvents(await readTopic(api, topicOf(id, 'lines'))).filter((e) => e.op === 'r')
    expect(reads).toHaveLength(3000)
    expect(reads.every((e) => e.after.order_id <= 1000 && e.after.line !== 2)).toBe(true)
    expect(new Set(reads.map((e) => `${e.after.order_id}/${e.after.line}`)).size).toBe(3000)
    expect((await pg.query('SELECT count(*)::int AS n FROM lines')).rows[0].n).toBe(6000)
  })
})

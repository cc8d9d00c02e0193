import { describe, expect, it } from 'vitest'
import type { ApiClient } from '../../harness/api-client.js'
import type { TestPostgres } from '../../harness/postgres.js'
import { latestRun, useSourceEnvironment } from '../../harness/source-environment.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic, rebuildTable } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, missingChanges, startWorkload, tableRows } from '../../harness/workload.js'

async function expectRebuildEquals(api: ApiClient, pg: TestPostgres, id: string, table: string): Promise<void> {
  const expected = await tableRows(pg, table)
  const rebuilt = await waitFor(async () => rebuildTable(await readTopic(api, topicOf(id, table))), (rows) => JSON.stringify(rows) === JSON.stringify(expected), { timeoutMs: 90_000, message: `rebuilt ${table} equals source` })
  expect(rebuilt).toEqual(expected)
}

describe('blocking snapshots', () => {
  const env = useSourceEnvironment(async (pg) => {
    await createWorkloadTable(pg, 'accounts')
    await pg.query("INSERT INTO accounts SELECT g, 1, repeat('x', 100) || g FROM generate_series(1, 30000) g")
    await pg.query('CREATE TABLE events (kind text NOT NULL)')
    await pg.query("INSERT INTO events SELECT 'seed-' || g FROM generate_series(1, 5000) g")
    for (const big of ['big_a', 'big_b']) {
      await pg.query(`CREATE TABLE ${big} (id int PRIMARY KEY, payload text NOT NULL)`)
      await pg.query(`INSERT INTO ${big} SELECT g, repeat('y', 150) FROM generate_series(1, 300000) g`)
    }
  })

  it('pauses streaming, reads keyed and keyless tables under one snapshot, resumes, and loses nothing', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts,public.events' }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 5 })
    let inserted = 0
    let stopped = false
    const appender = (async () => {
      while (!stopped) await pg.query('INSERT INTO events VALUES ($1)', [`live-${++inserted}`])
    })()
    const res = await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ snapshot_type: 'blocking', status: 'pending', total_table_count: 2 })
    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'blocking snapshot completed' })
    expect(run.tables.map((tb: any) => tb.status)).toEqual(['completed', 'completed'])
    stopped = true
    await appender
    await workload.stop()

    await expectRebuildEquals(api, pg, id, 'accounts')
    const kinds = (await pg.query('SELECT kind FROM events')).rows.map((r) => r.kind)
    const seen = await waitFor(async () => new Set(changeEvents(await readTopic(api, topicOf(id, 'events'))).map((e) => e.after.kind)), (s) => kinds.every((k) => s.has(k)), { timeoutMs: 60_000, message: 'every events row in its topic' })
    expect(kinds.filter((k) => !seen.has(k))).toEqual([])
    const reads = changeEvents(await readTopic(api, topicOf(id, 'events'))).filter((e) => e.op === 'r')
    expect(reads.length).toBeGreaterThanOrEqual(5000)
    expect(reads[0].source.snapshot).toMatch(/^first/)
    expect((await api.request('GET', `/sources/${id}/metrics`)).body.data).toMatchObject({ SnapshotCompleted: 1, SnapshotRunning: 0 })
  })

  it('rejects filters and surrogate keys, unknown tables, and a second snapshot while one runs', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts' }))
    await waitForStatus(api, id, 'Active')
    const filters = await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking', additional_conditions: [{ data_collection: 'public.accounts', filter: 'id > 1' }], surrogate_key: 'id' })
    expect(filters.status).toBe(422)
    expect(filters.body.detail.map((d: any) => d.loc.join('.'))).toEqual(['body.additional_conditions', 'body.surrogate_key'])
    const unknown = await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking', topic_names: [topicOf(id, 'accounts'), 'public.nope'] })
    expect(unknown.status).toBe(422)
    expect(unknown.body.detail[0].loc).toEqual(['body', 'topic_names', 1])
    expect((await api.request('POST', '/sources/snapshot', { source_id: '0123456789abcdef01234567', snapshot_type: 'blocking' })).status).toBe(404)
    expect((await api.request('GET', `/sources/${id}/snapshots`)).body.result).toEqual([])
  })

  it('stop_blocking_snapshot: cancels at once, restarts the connector, streaming resumes, nothing lost', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts,public.big_a' }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 3 })
    await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking', topic_names: [topicOf(id, 'big_a')] })
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.tables[0].status === 'running', { message: 'snapshot running' })

    const stop = await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: id })
    expect(stop.status).toBe(200)
    expect(stop.body.snapshot.status).toBe('cancelled')
    expect(stop.body.snapshot.tables[0].status).toBe('cancelled')
    expect(stop.body.snapshot.tables[0].rows_read).toBeLessThan(300000)
    expect(stop.body.connector_status).toBe('Active')
    // Streaming resumed: a change made now arrives.
    await pg.query('INSERT INTO accounts VALUES (999999, 1, $1)', ['after-stop'])
    await waitFor(async () => changeEvents(await readTopic(api, topicOf(id, 'accounts'))), (events) => events.some((e) => e.after?.payload === 'after-stop'), { timeoutMs: 60_000, message: 'change after stop streamed' })
    await workload.stop()
    // Every change committed before, during and after the snapshot reached the topic.
    expect(workload.changes.length).toBeGreaterThan(0)
    const missing = await waitFor(async () => missingChanges(workload.changes, await readTopic(api, topicOf(id, 'accounts'))), (m) => m.length === 0, { timeoutMs: 60_000, message: 'every committed change in the topic' })
    expect(missing).toEqual([])
    expect((await latestRun(api, id)).status).toBe('cancelled')
    const again = await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: id })
    expect(again.status).toBe(409)
    expect(typeof again.body.detail).toBe('string')
  }, 240_000) // more than its waits add up to, so a slow step fails with its own message

  it('stop_blocking_snapshot with topic_names cancels only those tables; the others complete', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.big_a,public.big_b' }))
    await waitForStatus(api, id, 'Active')
    await api.request('POST', '/sources/execute_blocking_snapshot', { source_id: id, topic_names: [topicOf(id, 'big_a'), topicOf(id, 'big_b')] })
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.tables[0].status === 'running', { message: 'snapshot running' })
    const wrong = await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: id, topic_names: [topicOf(id, 'big_a'), 'public.accounts'] })
    expect(wrong.status).toBe(422)
    expect(wrong.body.detail[0].loc).toEqual(['body', 'topic_names', 1])
    const stop = await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: id, topic_names: [topicOf(id, 'big_a')] })
    expect(stop.status).toBe(200)
    expect(stop.body.snapshot.tables.map((tb: any) => tb.status)).toEqual(['cancelled', expect.stringMatching(/pending|running/)])
    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 120_000, message: 'remaining table completed' })
    expect(run.tables.map((tb: any) => tb.status)).toEqual(['cancelled', 'completed'])
    expect(run.tables[1].rows_read).toBe(300000)
  })

  it('answers the seed endpoint\'s error cases with the documented shapes', async () => {
    const { t, api } = env
    const missing = await api.request('POST', '/sources/stop_blocking_snapshot', {})
    expect(missing.status).toBe(422)
    expect(missing.body.detail[0]).toMatchObject({ type: 'missing', loc: ['body', 'source_id'], msg: 'Field required' })
    const badType = await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: 'x', topic_names: 'a' })
    expect(badType.status).toBe(422)
    expect(badType.body.detail[0].loc).toEqual(['body', 'topic_names'])
    expect((await api.request('POST', '/sources/stop_blocking_snapshot', { source_id: '0123456789abcdef01234567' })).status).toBe(404)
    expect((await t.request('POST', '/sources/stop_blocking_snapshot', { body: { source_id: 'x' } })).status).toBe(401)
    expect((await t.request('POST', '/sources/stop_blocking_snapshot', { body: { source_id: 'x' }, token: t.tokens.readOnly })).status).toBe(403)
  })
})

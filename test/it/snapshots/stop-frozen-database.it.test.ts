/**
 * The seed endpoint when the database stops answering mid-snapshot (its processes frozen with SIGSTOP: connections
 * stay open, nothing replies, as when a host hangs or a network drops packets without resetting connections).
 * `stop_blocking_snapshot` (and a restart) must still answer, the snapshot must be marked cancelled, and once the
 * database answers again streaming must resume with no committed change lost.
 */
import { describe, expect, it } from 'vitest'
import { latestRun, useSourceEnvironment } from '../../harness/source-environment.js'
import { createSource, pgSourceConfig, topicOf, waitForStatus } from '../../harness/sources.js'
import { changeEvents, readTopic } from '../../harness/topic-reader.js'
import { waitFor } from '../../harness/wait-for.js'
import { createWorkloadTable, startWorkload, waitForChanges } from '../../harness/workload.js'

describe('stop_blocking_snapshot against a frozen database', () => {
  const env = useSourceEnvironment(async (pg) => {
    await createWorkloadTable(pg, 'accounts')
    await pg.query('CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL)')
    await pg.query("INSERT INTO big SELECT g, repeat('y', 150) FROM generate_series(1, 1000000) g")
  })

  it('answers, marks the snapshot cancelled, and streaming resumes with nothing lost once the database answers', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts,public.big' }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 3 })
    await api.request('POST', '/sources/snapshot', { source_id: id, snapshot_type: 'blocking', topic_names: [topicOf(id, 'big')] })
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.tables[0].rows_read > 0, { message: 'snapshot running' })

    // The harness gives up on a call after 60 s; before connections were ended with a deadline, this one never
    // answered (pg's end() waited for the frozen server to close its side).
    const stop = await pg.whileFrozen(() => api.request('POST', '/sources/stop_blocking_snapshot', { source_id: id }))
    expect(stop.status).toBe(200)
    expect(stop.body.snapshot.status).toBe('cancelled')
    expect(stop.body.snapshot.tables[0].status).toBe('cancelled')

    await waitForStatus(api, id, 'Active', 90_000)
    await pg.query('INSERT INTO accounts VALUES (999999, 1, $1)', ['after-thaw'])
    await waitFor(async () => changeEvents(await readTopic(api, topicOf(id, 'accounts'))), (events) => events.some((e) => e.after?.payload === 'after-thaw'), { timeoutMs: 60_000, message: 'change after thaw streamed' })
    await workload.stop()
    expect(workload.changes.length).toBeGreaterThan(0)
    await waitForChanges(api, topicOf(id, 'accounts'), workload.changes)
    expect((await latestRun(api, id)).status).toBe('cancelled')
  }, 240_000)

  it('restarting a streaming source answers while its database is frozen; it resumes once the database answers', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.accounts' }))
    await waitForStatus(api, id, 'Active')
    const workload = startWorkload(pg, { table: 'accounts', workers: 2, maxOpsPerTransaction: 3, seed: 7 })
    await waitFor(() => workload.committedTransactions, (n) => n >= 50, { timeoutMs: 60_000, message: 'writes flowing' })

    const restart = await pg.whileFrozen(() => api.request('POST', `/sources/${id}/actions/restart`))
    expect(restart.status).toBe(200)

    await waitForStatus(api, id, 'Active', 90_000)
    const afterThaw = workload.committedTransactions
    await waitFor(() => workload.committedTransactions, (n) => n >= afterThaw + 50, { timeoutMs: 60_000, message: 'writes after the thaw' })
    await workload.stop()
    await waitForChanges(api, topicOf(id, 'accounts'), workload.changes)
  }, 240_000)

  it('restarting a source mid incremental snapshot answers while its database is frozen; the snapshot goes on after', async () => {
    const { pg, api } = env
    const id = await createSource(api, pgSourceConfig(pg, { 'table.include.list': 'public.big', 'incremental.snapshot.chunk.size': 2000 }))
    await waitForStatus(api, id, 'Active')
    const snapshot = await api.request('POST', '/sources/snapshot', { source_id: id, topic_names: [topicOf(id, 'big')], additional_conditions: [{ data_collection: 'public.big', filter: 'id <= 200000' }] })
    expect(snapshot.status).toBe(200)
    await waitFor(() => latestRun(api, id), (r) => r.status === 'running' && r.tables[0].rows_read > 0, { message: 'incremental snapshot running' })

    const restart = await pg.whileFrozen(() => api.request('POST', `/sources/${id}/actions/restart`))
    expect(restart.status).toBe(200)

    const run = await waitFor(() => latestRun(api, id), (r) => r.status === 'completed', { timeoutMs: 180_000, message: 'incremental snapshot completed' })
    expect(run.tables[0].rows_read).toBeGreaterThanOrEqual(200_000)
  }, 240_000)
})
